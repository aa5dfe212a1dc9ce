using static TorchSharp.torch;

namespace DqMlNet.Quantization;

/// <summary>
/// Symmetric per-output-channel weight quantizer (not in the paper, which keeps weights float):
/// <c>w_q = s · clamp(round(w / s), −(2^(k−1) − 1), 2^(k−1) − 1)</c>, <c>s = max|w_c| / (2^(k−1) − 1)</c>,
/// with a straight-through gradient.
/// </summary>
public static class WeightQuantizer
{
    /// <summary>Smallest supported weight bit width (1 bit has no symmetric level besides zero).</summary>
    public const int MinBits = 2;

    /// <summary>Largest supported weight bit width (int8).</summary>
    public const int MaxBits = 8;

    /// <summary>Throws a clear <see cref="ArgumentOutOfRangeException"/> for an unsupported bit width.</summary>
    public static void ValidateBits(int bits, string paramName = "weightBits")
    {
        if (bits < MinBits || bits > MaxBits)
            throw new ArgumentOutOfRangeException(paramName, bits,
                $"Weight bit width must be between {MinBits} and {MaxBits} (got {bits}); leave it unset for float weights.");
    }

    /// <summary>Largest integer level 2^(k−1) − 1.</summary>
    public static int MaxLevel(int bits)
    {
        ValidateBits(bits);
        return (1 << (bits - 1)) - 1;
    }

    /// <summary>Per-output-channel scales, shape [c_out]; an all-zero channel gets a tiny scale so it stays zero.</summary>
    public static Tensor Scales(Tensor weight, int bits)
    {
        using var scope = NewDisposeScope();
        var flat = weight.detach().flatten(1);
        var scales = flat.abs().amax(new long[] { 1 }).div_(MaxLevel(bits)).clamp_min_(1e-12f);
        return scales.MoveToOuterDisposeScope();
    }

    /// <summary>The quantized weight with a straight-through gradient (identity).</summary>
    public static Tensor QuantizeSte(Tensor weight, int bits)
    {
        using var scope = NewDisposeScope();
        int level = MaxLevel(bits);
        var shape = new long[weight.dim()];
        Array.Fill(shape, 1L);
        shape[0] = -1;
        var s = Scales(weight, bits).reshape(shape);
        var q = weight.detach().div(s).round_().clamp_(-level, level).mul_(s);
        var y = q.add(weight.sub(weight.detach()));
        return y.MoveToOuterDisposeScope();
    }
}
