using DqMlNet.Models;
using static TorchSharp.torch;

namespace DqMlNet.Quantization;

/// <summary>
/// k-bit quantized ReLU6 with a straight-through gradient (VQ and DQ modes), in the shape of Brevitas'
/// <c>QuantReLU(bit_width=k)</c>: a drop-in replacement for ReLU.
/// </summary>
public sealed class QuantizedReLU6 : ActivationLayer
{
    /// <summary>Creates a k-bit quantized ReLU6; k must be in 1..8.</summary>
    public QuantizedReLU6(int bits) : base(nameof(QuantizedReLU6))
    {
        ActivationQuantizer.ValidateBits(bits, nameof(bits));
        Bits = bits;
    }

    /// <summary>Activation bit width k (2^k levels on [0, 6]).</summary>
    public int Bits { get; }

    /// <summary>Quantization step (ONNX scale) 6 / (2^k − 1).</summary>
    public float Scale => ActivationQuantizer.Scale(Bits);

    /// <summary>
    /// How gradients pass this quantizer. <see cref="QuantizerGradient.StraightThrough"/> in training and for honest
    /// attacks (there it is BPDA); the others exist for attack research (the smooth-proxy surrogate gradient) and to
    /// demonstrate gradient masking.
    /// </summary>
    public QuantizerGradient Gradient { get; set; } = QuantizerGradient.StraightThrough;

    /// <inheritdoc />
    protected override Tensor Activate(Tensor x) => Gradient switch
    {
        QuantizerGradient.StraightThrough => ActivationQuantizer.QuantizeSte(x, Bits),
        QuantizerGradient.SmoothProxy => x.clamp(0f, ActivationQuantizer.Range),
        QuantizerGradient.None => ActivationQuantizer.QuantizeDifferentiable(x, Bits),
        _ => throw new InvalidOperationException($"Unknown quantizer gradient mode {Gradient}."),
    };
}
