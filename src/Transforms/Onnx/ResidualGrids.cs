using DqMlNet.Quantization;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace DqMlNet.Transforms.Onnx;

/// <summary>
/// The uint8 grid a residual sum is exported on. The model keeps its residual stream in float, so there is no grid of
/// its own; the export needs no calibration data either, because the BatchNorm that consumes the sum has already
/// measured it: its running mean and variance per channel, over the training data. The grid covers
/// mean ± <see cref="Sigmas"/> standard deviations of every channel (and 0), in 255 steps. This is an approximation of
/// the float model (rounding to at most half a step, and saturation beyond the range); docs/onnx.md gives its measured
/// label agreement.
/// </summary>
internal static class ResidualGrids
{
    /// <summary>
    /// Standard deviations covered on each side of a channel's mean. Wider ranges saturate less but round coarser: for
    /// the channel with the widest range the step is 16σ/255 ≈ 0.06σ, where the consuming 4-bit activation quantizes
    /// BN(x) in steps of 0.4σ/|γ|. On the test fixtures 4 to 12 σ changed equally many labels.
    /// </summary>
    public const double Sigmas = 8;

    /// <summary>The grid for the input of <paramref name="bn"/> from its running statistics.</summary>
    public static UInt8Grid FromBatchNorm(BatchNorm2d bn)
    {
        if (bn.running_mean is null || bn.running_var is null)
            throw new NotSupportedException("A residual sum can only be put on a grid from a BatchNorm that tracks running statistics.");
        float[] mean = bn.running_mean.detach().cpu().to_type(ScalarType.Float32).contiguous().data<float>().ToArray();
        float[] variance = bn.running_var.detach().cpu().to_type(ScalarType.Float32).contiguous().data<float>().ToArray();
        return FromStatistics(mean, variance, bn.eps);
    }

    /// <summary>The grid covering mean ± <see cref="Sigmas"/>·√(variance + ε) of every channel, and 0.</summary>
    public static UInt8Grid FromStatistics(IReadOnlyList<float> mean, IReadOnlyList<float> variance, double eps)
    {
        double lo = 0, hi = 0;
        for (int c = 0; c < mean.Count; c++)
        {
            double sd = Math.Sqrt(Math.Max(0, variance[c]) + eps);
            if (!double.IsFinite(sd) || !float.IsFinite(mean[c]))
                throw new NotSupportedException($"BatchNorm statistics of channel {c} are not finite ({mean[c]}, {variance[c]}); the model cannot be exported.");
            lo = Math.Min(lo, mean[c] - Sigmas * sd);
            hi = Math.Max(hi, mean[c] + Sigmas * sd);
        }
        float scale = (float)((hi - lo) / byte.MaxValue);
        if (!(scale > 0) || !float.IsFinite(scale)) scale = 1f;
        byte zeroPoint = (byte)Math.Clamp(Math.Round(-lo / scale, MidpointRounding.ToEven), 0, byte.MaxValue);
        return new UInt8Grid(scale, zeroPoint);
    }
}
