using DqMlNet.Models;
using DqMlNet.Quantization;
using TorchSharp;
using static TorchSharp.torch;

namespace DqMlNet.Bench;

/// <summary>A benchmarked architecture at its input shape and batch size.</summary>
internal sealed record BenchModel(string Name, ModelSpec Spec, int Batch)
{
    public ModelSpec In(TrainingMode mode) => Spec with { Mode = mode, ActivationBits = 4 };

    public long PixelsPerImage => (long)Spec.Channels * Spec.Height * Spec.Width;

    public static BenchModel SmallCnn28 { get; } = new("SmallCnn 28×28×1",
        new ModelSpec { Architecture = Architecture.SmallCnn, Channels = 1, Height = 28, Width = 28, Mean = new[] { 0.5f }, Std = new[] { 0.5f } }, 128);

    private static readonly float[] CifarMean = { 0.4914f, 0.4822f, 0.4465f };
    private static readonly float[] CifarStd = { 0.247f, 0.243f, 0.261f };

    public static BenchModel VggSmall { get; } = new("VGG-11×0.25 32×32×3",
        new ModelSpec { Architecture = Architecture.Vgg, Depth = 11, WidthFactor = 0.25, Channels = 3, Height = 32, Width = 32, Mean = CifarMean, Std = CifarStd }, 64);

    public static BenchModel Wrn16x4 { get; } = new("WRN-16-4 32×32×3",
        new ModelSpec { Architecture = Architecture.WideResNet, Depth = 16, WidthFactor = 4, Channels = 3, Height = 32, Width = 32, Mean = CifarMean, Std = CifarStd }, 64);
}

/// <summary>Analytic multiply–accumulate counts of a model's convolutions and linear layers.</summary>
internal static class Flops
{
    /// <summary>
    /// Conv/linear MACs per image of one forward pass: for every conv, C_out·H_out·W_out·C_in·k_h·k_w; for every linear,
    /// in·out. Output sizes come from the layers' own stride/padding arithmetic (no forward pass, no hooks).
    /// </summary>
    public static long ForwardMacsPerImage(DqModel model)
    {
        var spec = model.Spec;
        long macs = 0;
        // Walk the stages in execution order, tracking the feature map size.
        long h = spec.Height, w = spec.Width;
        foreach (var stage in model.Stages)
            foreach (var (_, layer) in stage.Layers)
                macs += Walk(layer, ref h, ref w);
        return macs;
    }

    /// <summary>
    /// Floating-point operations of the exact regulariser's value and gradient (closed form) for <paramref name="weights"/>:
    /// per layer with Gram side S (n × k, n the smaller of c_out and c_in·kh·kw), the Gram S·Sᵀ and the gradient E·S are
    /// n·n·k multiply–adds each, 4·n²·k flops. Any implementation of the exact penalty needs the Gram; one that used its
    /// symmetry (half the Gram's products) still needs 3·n²·k, the floor reported beside the measured time.
    /// </summary>
    public static (double Flops, double FloorFlops) ExactRegularizer(IEnumerable<Tensor> weights)
    {
        double flops = 0, floor = 0;
        foreach (var w in weights)
        {
            double rows = w.shape[0], cols = w.numel() / w.shape[0];
            double n = Math.Min(rows, cols), k = Math.Max(rows, cols);
            flops += 4 * n * n * k;
            floor += 3 * n * n * k;
        }
        return (flops, floor);
    }

    private static long Walk(nn.Module<Tensor, Tensor> layer, ref long h, ref long w)
    {
        switch (layer)
        {
            case QuantConv2d conv:
            {
                var s = conv.Weight.shape; // [out, in, kh, kw]
                long ho = (h + 2 * conv.Padding - s[2]) / conv.Stride + 1, wo = (w + 2 * conv.Padding - s[3]) / conv.Stride + 1;
                h = ho; w = wo;
                return s[0] * ho * wo * s[1] * s[2] * s[3];
            }
            case QuantLinear linear:
            {
                var s = linear.Weight.shape; // [out, in]
                return s[0] * s[1];
            }
            case TorchSharp.Modules.MaxPool2d or MaxPool2x2:
                h /= 2; w /= 2;
                return 0;
            case TorchSharp.Modules.AdaptiveAvgPool2d:
                h = 1; w = 1;
                return 0;
            case PreActivationBlock block:
            {
                long h0 = h, w0 = w;
                long m = Walk(block.Conv1, ref h, ref w) + Walk(block.Conv2, ref h, ref w);
                if (block.Shortcut is { } sc) m += Walk(sc, ref h0, ref w0);
                return m;
            }
            default:
                return 0;
        }
    }
}
