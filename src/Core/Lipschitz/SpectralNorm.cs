using DqMlNet.Models;
using DqMlNet.Quantization;
using static TorchSharp.torch;

namespace DqMlNet.Lipschitz;

/// <summary>
/// Spectral norms of a model's weight layers, by power iteration: the operator norm of each layer as it acts on its
/// input (for a convolution, through <c>conv2d</c> and its adjoint <c>conv_transpose2d</c> on the layer's input shape),
/// and the norm of the weight reshaped to M ∈ ℝ^{c_out × c_in·kh·kw}, the quantity the regulariser constrains.
/// </summary>
/// <remarks>
/// For a convolution the reshaped kernel's norm is not an upper bound of the operator's: overlapping windows reuse every
/// input pixel up to kh·kw times, so the operator norm can exceed it by up to √(kh·kw) (stride 1). Only the product of
/// operator norms bounds the Lipschitz constant of the linear part (BatchNorm in eval mode and the activations, all
/// 1-Lipschitz or affine per channel, are not included unless folded into the weights, as in a deployed export).
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

    /// <summary>
    /// Operator norm of the convolution x ↦ conv2d(x, <paramref name="weight"/>) (no bias) on inputs of shape
    /// [C, H, W] = <paramref name="inputShape"/>: power iteration on AᵀA with A = conv2d and Aᵀ = conv_transpose2d.
    /// </summary>
    public static double ConvolutionOperatorNorm(Tensor weight, long[] inputShape, long stride = 1, long padding = 0, int iterations = 100, long seed = 0)
    {
        ArgumentNullException.ThrowIfNull(weight);
        ArgumentNullException.ThrowIfNull(inputShape);
        if (iterations < 1) throw new ArgumentOutOfRangeException(nameof(iterations), iterations, "Power iteration needs at least one step.");
        if (weight.dim() != 4 || inputShape.Length != 3 || inputShape[0] != weight.shape[1])
            throw new ArgumentException($"A convolution weight [c_out, c_in, kh, kw] and an input shape [c_in, H, W] are needed; got " +
                                        $"[{string.Join(", ", weight.shape)}] and [{string.Join(", ", inputShape)}].");
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        var w = weight.detach().to_type(ScalarType.Float64);
        var gen = new Generator((ulong)seed, w.device);
        var v = randn(new[] { 1, inputShape[0], inputShape[1], inputShape[2] }, dtype: ScalarType.Float64, device: w.device, generator: gen);
        v = v.div(v.norm());
        long kh = w.shape[2], kw = w.shape[3];
        long[] strides = { stride, stride }, pads = { padding, padding };
        long outH = (inputShape[1] + 2 * padding - kh) / stride + 1, outW = (inputShape[2] + 2 * padding - kw) / stride + 1;
        // The adjoint must land on the input's exact size: a strided convolution drops trailing rows/columns.
        long[] outputPadding = { inputShape[1] - ((outH - 1) * stride - 2 * padding + kh), inputShape[2] - ((outW - 1) * stride - 2 * padding + kw) };
        double sigma = 0;
        for (int i = 0; i < iterations; i++)
        {
            var u = nn.functional.conv2d(v, w, strides: strides, padding: pads);
            var un = u.norm().item<double>();
            if (un == 0) return 0;
            u = u.div(un);
            v = nn.functional.conv_transpose2d(u, w, strides: strides, padding: pads, output_padding: outputPadding);
            sigma = v.norm().item<double>();
            if (sigma == 0) return 0;
            v = v.div(sigma);
        }
        return sigma;
    }

    /// <summary>
    /// Per-layer norms of a model: the operator norm (a convolution's on the input shape a probe forward pass records)
    /// and the reshaped-kernel norm; the product of the operator norms bounds the linear part's Lipschitz constant.
    /// </summary>
    public static SpectralReport Measure(DqModel model, int iterations = 100)
    {
        ArgumentNullException.ThrowIfNull(model);
        var shapes = ConvolutionInputShapes(model);
        var layers = new List<LayerSpectralNorm>();
        foreach (var (name, module) in model.named_modules())
        {
            if (module is QuantConv2d conv)
            {
                var weight = conv.WeightBits is int bits ? WeightQuantizer.QuantizeSte(conv.Weight.detach(), bits) : conv.Weight.detach();
                using (weight)
                {
                    double reshaped = Estimate(weight, iterations);
                    double op = shapes.TryGetValue(conv, out var shape)
                        ? ConvolutionOperatorNorm(weight, shape, conv.Stride, conv.Padding, iterations)
                        : double.NaN;
                    layers.Add(new LayerSpectralNorm(name, op, reshaped));
                }
            }
            else if (module is QuantLinear linear)
            {
                var weight = linear.WeightBits is int bits ? WeightQuantizer.QuantizeSte(linear.Weight.detach(), bits) : linear.Weight.detach();
                using (weight)
                {
                    double norm = Estimate(weight, iterations);
                    layers.Add(new LayerSpectralNorm(name, norm, norm));
                }
            }
        }
        double product = layers.Aggregate(1.0, (p, l) => p * l.Norm);
        return new SpectralReport(layers, product);
    }

    /// <summary>Input shape [C, H, W] of every convolution, recorded by hooks during one forward pass of a zero image.</summary>
    private static Dictionary<QuantConv2d, long[]> ConvolutionInputShapes(DqModel model)
    {
        var shapes = new Dictionary<QuantConv2d, long[]>(ReferenceEqualityComparer.Instance);
        var convs = model.modules().OfType<QuantConv2d>().ToList();
        var handles = convs.Select(conv => conv.register_forward_pre_hook((module, input) =>
        {
            shapes[conv] = input.shape.Skip(1).ToArray();
            return input;
        })).ToList();
        bool wasTraining = model.training;
        try
        {
            model.eval();
            using var noGrad = no_grad();
            using var scope = NewDisposeScope();
            var device = model.parameters().First().device;
            var probe = zeros(new long[] { 1, model.Spec.Channels, model.Spec.Height, model.Spec.Width }, device: device);
            model.call(probe);
        }
        finally
        {
            foreach (var h in handles) h.remove();
            model.train(wasTraining);
        }
        return shapes;
    }
}

/// <summary>Spectral norms of one layer.</summary>
/// <param name="Layer">Layer name.</param>
/// <param name="Norm">Operator norm of the layer on its input (for a linear layer, its weight's spectral norm).</param>
/// <param name="ReshapedKernelNorm">Spectral norm of the weight reshaped to [c_out, c_in·kh·kw] (not a bound for convolutions).</param>
public sealed record LayerSpectralNorm(string Layer, double Norm, double ReshapedKernelNorm);

/// <summary>Per-layer spectral norms and the product of their operator norms.</summary>
public sealed record SpectralReport(IReadOnlyList<LayerSpectralNorm> Layers, double Product);
