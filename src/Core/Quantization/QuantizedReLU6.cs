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

    /// <inheritdoc />
    protected override Tensor Activate(Tensor x) => ActivationQuantizer.QuantizeSte(x, Bits);
}
