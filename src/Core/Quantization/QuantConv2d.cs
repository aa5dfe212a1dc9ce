using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace DqMlNet.Quantization;

/// <summary>
/// A 2-D convolution whose weight is optionally fake-quantized per output channel (Brevitas'
/// <c>QuantConv2d(weight_bit_width=k)</c>). With no weight bits it is an ordinary convolution.
/// </summary>
public sealed class QuantConv2d : nn.Module<Tensor, Tensor>
{
    private readonly Conv2d conv;

    /// <summary>Creates the layer; initialisation is PyTorch's default for <c>Conv2d</c>.</summary>
    public QuantConv2d(long inChannels, long outChannels, long kernelSize, long stride = 1, long padding = 0,
        bool bias = true, int? weightBits = null) : base(nameof(QuantConv2d))
    {
        if (weightBits is int wb) WeightQuantizer.ValidateBits(wb, nameof(weightBits));
        conv = nn.Conv2d(inChannels, outChannels, kernelSize, stride: stride, padding: padding, bias: bias);
        WeightBits = weightBits;
        Stride = stride;
        Padding = padding;
        RegisterComponents();
    }

    /// <summary>Weight bit width, or null for float weights.</summary>
    public int? WeightBits { get; }

    /// <summary>Convolution stride.</summary>
    public long Stride { get; }

    /// <summary>Zero padding on each side.</summary>
    public long Padding { get; }

    /// <summary>The latent float weight [c_out, c_in, kh, kw] (what the Lipschitz regulariser constrains).</summary>
    public Parameter Weight => conv.weight!;

    /// <summary>The bias, if any.</summary>
    public Parameter? Bias => conv.bias;

    /// <inheritdoc />
    public override Tensor forward(Tensor input)
    {
        if (WeightBits is not int bits) return conv.forward(input);
        using var w = WeightQuantizer.QuantizeSte(Weight, bits);
        return nn.functional.conv2d(input, w, Bias, strides: new[] { Stride, Stride }, padding: new[] { Padding, Padding });
    }
}
