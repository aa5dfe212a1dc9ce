using static TorchSharp.torch;

namespace DqMlNet.Attacks;

/// <summary>
/// A classifier as attacks see it (the shape of ART's estimator): [0, 1] pixels in, logits out. Score-based attacks
/// (Square) need only <see cref="Logits"/>; gradient attacks need <see cref="SurrogateLogits"/>.
/// </summary>
/// <remarks>
/// Every model an attack can target is one: a TorchSharp model (<see cref="TorchClassifier"/>), any ONNX file
/// (<c>OnnxClassifier</c>, score-only), and a DqMlNet export, fitted ML.NET stage or saved zip as deployed
/// (<c>DeployedClassifier</c>: ONNX Runtime judges, the export's differentiable twin gives the gradients).
/// </remarks>
public interface IClassifier
{
    /// <summary>Input shape [C, H, W].</summary>
    long[] InputShape { get; }

    /// <summary>Number of classes.</summary>
    int NumClasses { get; }

    /// <summary>Device the classifier computes on; attacks keep their tensors there.</summary>
    Device Device { get; }

    /// <summary>Whether <see cref="SurrogateLogits"/> is available (false for black boxes such as an ONNX session).</summary>
    bool HasGradients { get; }

    /// <summary>
    /// True when <see cref="SurrogateLogits"/> computes the same values as <see cref="Logits"/> (straight-through
    /// gradients): attacks then score an iterate from the gradient pass instead of a second forward pass.
    /// </summary>
    bool SurrogateIsExact { get; }

    /// <summary>The model's logits for a batch [N, C, H, W]; what attack success is judged on.</summary>
    Tensor Logits(Tensor input);

    /// <summary>Differentiable logits whose input gradient attacks follow (straight-through or a smooth proxy).</summary>
    Tensor SurrogateLogits(Tensor input);

    /// <summary>Puts the classifier into attack state (eval mode, parameters frozen) until disposed.</summary>
    IDisposable BeginAttack();
}
