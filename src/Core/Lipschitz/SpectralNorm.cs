using DqMlNet.Models;
using static TorchSharp.torch;

namespace DqMlNet.Lipschitz;

/// <summary>Spectral norm of a layer's weight viewed as M ∈ ℝ^{c_out × c_in·kh·kw}, by power iteration.</summary>
/// <remarks>
/// For a convolution this is the norm of the reshaped kernel, the quantity the regulariser constrains; the norm of
/// the convolution operator itself is within a factor √(kh·kw) of it.
/// </remarks>
public static class SpectralNorm
{
    /// <summary>Largest singular value of <paramref name="weight"/>.flatten(1), deterministic for a given seed.</summary>
    public static double Estimate(Tensor weight, int iterations = 100, long seed = 0)
    {
        if (iterations < 1) throw new ArgumentOutOfRangeException(nameof(iterations), iterations, "Power iteration needs at least one step.");
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        var m = weight.detach().flatten(1).to_type(ScalarType.Float64);
        var gen = new Generator((ulong)seed, m.device);
        var v = randn(new[] { m.shape[1] }, dtype: ScalarType.Float64, device: m.device, generator: gen);
        v = v.div(v.norm());
        double sigma = 0;
        for (int i = 0; i < iterations; i++)
        {
            var u = m.mv(v);
            var un = u.norm().item<double>();
            if (un == 0) return 0;
            u = u.div(un);
            v = m.t().mv(u);
            sigma = v.norm().item<double>();
            if (sigma == 0) return 0;
            v = v.div(sigma);
        }
        return sigma;
    }

    /// <summary>Per-layer spectral norms of a model and their product (an upper bound on its linear part's Lipschitz constant).</summary>
    public static SpectralReport Measure(DqModel model, int iterations = 100)
    {
        var layers = model.WeightLayers.Select(l => new LayerSpectralNorm(l.Name, Estimate(l.Weight, iterations))).ToList();
        double product = layers.Aggregate(1.0, (p, l) => p * l.Norm);
        return new SpectralReport(layers, product);
    }
}

/// <summary>Spectral norm of one layer.</summary>
public sealed record LayerSpectralNorm(string Layer, double Norm);

/// <summary>Per-layer spectral norms and their product.</summary>
public sealed record SpectralReport(IReadOnlyList<LayerSpectralNorm> Layers, double Product);
