using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace DqMlNet.Quantization;

/// <summary>
/// A fully connected layer whose weight is optionally fake-quantized per output channel (Brevitas'
/// <c>QuantLinear(weight_bit_width=k)</c>). With no weight bits it is an ordinary linear layer.
/// </summary>
public sealed class QuantLinear : nn.Module<Tensor, Tensor>
{
    private readonly Linear linear;

    /// <summary>Creates the layer; initialisation is PyTorch's default for <c>Linear</c>.</summary>
    public QuantLinear(long inFeatures, long outFeatures, bool bias = true, int? weightBits = null)
        : base(nameof(QuantLinear))
    {
        if (weightBits is int wb) WeightQuantizer.ValidateBits(wb, nameof(weightBits));
        linear = nn.Linear(inFeatures, outFeatures, hasBias: bias);
        WeightBits = weightBits;
        RegisterComponents();
    }

    /// <summary>Weight bit width, or null for float weights.</summary>
    public int? WeightBits { get; }

    /// <summary>The latent float weight [out, in].</summary>
    public Parameter Weight => linear.weight!;

    /// <summary>The bias, if any.</summary>
    public Parameter? Bias => linear.bias;

    /// <inheritdoc />
    public override Tensor forward(Tensor input)
    {
        if (WeightBits is not int bits) return linear.forward(input);
        using var w = WeightQuantizer.QuantizeSte(Weight, bits);
        return nn.functional.linear(input, w, Bias);
    }
}
