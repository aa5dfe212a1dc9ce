using TorchSharp;
using static TorchSharp.torch;

namespace DqMlNet.Quantization;

/// <summary>
/// The k-bit quantized ReLU6 of the paper: <c>y = s · round(clamp(x, 0, 6) / s)</c> with step
/// <c>s = 6 / (2^k − 1)</c>, so exactly 2^k levels on [0, 6].
/// </summary>
/// <remarks>
/// The step is taken as a float32 and the rounding is round-half-to-even, exactly as ONNX
/// <c>QuantizeLinear</c>/<c>DequantizeLinear</c> (uint8, zero point 0) compute it, so an exported QDQ graph reproduces
/// the training grid bit for bit.
/// </remarks>
public static class ActivationQuantizer
{
    /// <summary>Upper end of the activation range (ReLU6).</summary>
    public const float Range = 6f;

    /// <summary>Smallest supported activation bit width.</summary>
    public const int MinBits = 1;

    /// <summary>Largest supported activation bit width (the grid must fit uint8).</summary>
    public const int MaxBits = 8;

    /// <summary>Throws a clear <see cref="ArgumentOutOfRangeException"/> for an unsupported bit width.</summary>
    public static void ValidateBits(int bits, string paramName = "bits")
    {
        if (bits < MinBits || bits > MaxBits)
            throw new ArgumentOutOfRangeException(paramName, bits,
                $"Activation bit width must be between {MinBits} and {MaxBits} (got {bits}); the paper uses 1 to 5 bits. " +
                "Use full-precision mode for unquantized activations.");
    }

    /// <summary>Number of quantization levels minus one: 2^k − 1.</summary>
    public static int MaxLevel(int bits)
    {
        ValidateBits(bits);
        return (1 << bits) - 1;
    }

    /// <summary>Quantization step 6 / (2^k − 1) as the float32 that ONNX export uses as scale.</summary>
    public static float Scale(int bits) => (float)(Range / (double)MaxLevel(bits));

    /// <summary>The quantized value (no gradient defined; use <see cref="QuantizeSte"/> in a model).</summary>
    public static Tensor Quantize(Tensor x, int bits)
    {
        float scale = Scale(bits);
        using var clamped = x.clamp(0f, Range);
        return clamped.div(scale).round_().mul_(scale); // in-place ops return the same (new) tensor: no leak
    }

    /// <summary>
    /// The quantized value through autograd-visible ops, so the gradient is the true derivative of the staircase:
    /// zero almost everywhere. This is what gradient masking looks like; never train or attack with it.
    /// </summary>
    public static Tensor QuantizeDifferentiable(Tensor x, int bits)
    {
        float scale = Scale(bits);
        using var clamped = x.clamp(0f, Range);
        using var levels = clamped.div(scale);
        return levels.round().mul_(scale);
    }

    /// <summary>
    /// Quantizes with the straight-through estimator: the value is <see cref="Quantize"/> exactly, the gradient is 1 on
    /// (0, 6) and 0 elsewhere.
    /// </summary>
    public static Tensor QuantizeSte(Tensor x, int bits)
    {
        MaxLevel(bits); // validates before entering autograd
        // Without a gradient to propagate the plain quantizer is exact and cheapest.
        if (!x.requires_grad || !is_grad_enabled()) return Quantize(x, bits);
        // relu6 (hardtanh(x, 0, 6) in LibTorch) is the clamp, and its own backward is exactly the straight-through
        // gradient (the incoming gradient where 0 < x < 6, zero elsewhere) in one fused pass. Its backward needs only its
        // input, so the rounding can be applied to its output in place outside autograd: the same values as Quantize,
        // without a custom autograd node (whose managed callback, mask tensors and product cost four passes per
        // activation). (TorchSharp 0.107's nn.functional.hardtanh(x, 0, 6) ignores its bounds; Tensor.relu6 is correct.)
        float scale = Scale(bits);
        var y = x.relu6();
        using (no_grad()) y.div_(scale).round_().mul_(scale);
        return y;
    }
}
