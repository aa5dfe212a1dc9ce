using Microsoft.ML.OnnxRuntime;

namespace DqMlNet.Transforms.Onnx;

/// <summary>How <see cref="OnnxClassifier"/> opens an ONNX model.</summary>
public sealed record OnnxClassifierOptions
{
    /// <summary>Threads ONNX Runtime uses inside one operator (0 = its default).</summary>
    public int IntraOpThreads { get; init; }

    /// <summary>
    /// Let ONNX Runtime's worker threads spin between runs. Off by default: spinning workers measurably slow LibTorch
    /// work in the same process (attacks alternate TorchSharp gradients and ONNX Runtime scoring), see docs/benchmarks.md.
    /// </summary>
    public bool AllowSpinning { get; init; }

    /// <summary>ONNX Runtime graph optimisation (default: all, which fuses QDQ patterns into integer kernels).</summary>
    public GraphOptimizationLevel OptimizationLevel { get; init; } = GraphOptimizationLevel.ORT_ENABLE_ALL;

    /// <summary>If set, ONNX Runtime writes its optimised graph here (for inspection).</summary>
    public string? OptimizedModelFilePath { get; init; }

    /// <summary>
    /// Name of the output holding the scores. Default: "probabilities" if present, else "logits", else the first float
    /// output of rank 2.
    /// </summary>
    public string? ScoresOutput { get; init; }

    /// <summary>
    /// Whether the scores output holds logits that need a softmax. Default: true unless its name contains "prob" or
    /// "softmax".
    /// </summary>
    public bool? ScoresAreLogits { get; init; }
}
