using System.Text.Json;
using DqMlNet.Attacks;
using DqMlNet.Transforms.Onnx;
using static TorchSharp.torch;

namespace DqMlNet.Cli;

/// <summary>Any ONNX image classifier as a gradient-free <see cref="IClassifier"/> (score-based attacks only).</summary>
internal sealed class OnnxBlackBox(OnnxClassifier classifier, long[] inputShape) : IClassifier
{
    public long[] InputShape => inputShape;

    public int NumClasses => classifier.NumClasses;

    public Device Device => CPU;

    public bool HasGradients => false;

    public bool SurrogateIsExact => false;

    /// <summary>Class names from DqMlNet metadata, or null.</summary>
    public IReadOnlyList<string>? ClassNames =>
        classifier.Metadata.TryGetValue(OnnxMetadataKeys.ClassNames, out var json) ? JsonSerializer.Deserialize<string[]>(json) : null;

    public Tensor Logits(Tensor input)
    {
        var p = classifier.Predict(input.detach().cpu().contiguous()).Probabilities;
        using var t = tensor(p, new long[] { input.shape[0], NumClasses });
        return t.clamp_min(1e-30f).log();
    }

    public Tensor SurrogateLogits(Tensor input) =>
        throw new NotSupportedException("An ONNX file is evaluated as a black box: it has no gradients.");

    public IDisposable BeginAttack() => new Nothing();

    private sealed class Nothing : IDisposable
    {
        public void Dispose() { }
    }
}
