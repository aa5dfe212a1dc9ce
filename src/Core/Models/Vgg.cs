using TorchSharp;
using static TorchSharp.torch;

namespace DqMlNet.Models;

/// <summary>
/// VGG with BatchNorm, CIFAR variant: 3×3 convolutions (conv – BN – act), 2×2 max pooling while the feature map is
/// at least 2×2, global average pooling and one linear classifier. Depth 11/13/16/19; the width multiplier scales
/// every channel count (e.g. 0.25 for a CPU-sized "VGG-small").
/// </summary>
public sealed class Vgg : DqModel
{
    private static readonly Dictionary<int, int[]> Configs = new()
    {
        // 0 stands for a max-pool.
        [11] = new[] { 64, 0, 128, 0, 256, 256, 0, 512, 512, 0, 512, 512, 0 },
        [13] = new[] { 64, 64, 0, 128, 128, 0, 256, 256, 0, 512, 512, 0, 512, 512, 0 },
        [16] = new[] { 64, 64, 0, 128, 128, 0, 256, 256, 256, 0, 512, 512, 512, 0, 512, 512, 512, 0 },
        [19] = new[] { 64, 64, 0, 128, 128, 0, 256, 256, 256, 256, 0, 512, 512, 512, 512, 0, 512, 512, 512, 512, 0 },
    };

    private readonly LayerStack features;
    private readonly LayerStack classifier;

    /// <summary>Builds the model for <paramref name="spec"/> (architecture must be Vgg).</summary>
    public Vgg(ModelSpec spec) : base(nameof(Vgg), spec)
    {
        if (spec.Architecture != Architecture.Vgg)
            throw new ArgumentException($"Vgg cannot be built from a {spec.Architecture} spec.", nameof(spec));
        var layers = new List<(string, nn.Module<Tensor, Tensor>)> { ("normalize", NewNormalization()) };
        long channels = spec.Channels, h = spec.Height, w = spec.Width;
        int conv = 0, pool = 0;
        foreach (int c in Configs[spec.Depth])
        {
            if (c == 0)
            {
                if (h < 2 || w < 2) continue; // small inputs (28×28) run out of resolution before the last pool
                layers.Add(($"pool{++pool}", new MaxPool2x2()));
                h /= 2; w /= 2;
                continue;
            }
            long width = Math.Max(1, (long)Math.Round(c * spec.WidthFactor));
            conv++;
            layers.Add(($"conv{conv}", NewConv(channels, width, 3, padding: 1, bias: false)));
            layers.Add(($"bn{conv}", nn.BatchNorm2d(width)));
            layers.Add(($"act{conv}", NewActivation()));
            channels = width;
        }
        layers.Add(("gap", nn.AdaptiveAvgPool2d(1)));
        layers.Add(("flatten", nn.Flatten()));
        features = new LayerStack(layers);
        classifier = new LayerStack(new (string, nn.Module<Tensor, Tensor>)[] { ("fc", NewLinear(channels, spec.NumClasses)) });
        RegisterComponents();
    }

    /// <inheritdoc />
    public override IReadOnlyList<LayerStack> Stages => new[] { features, classifier };

    /// <inheritdoc />
    public override Tensor forward(Tensor input) => classifier.forward(features.forward(input));
}
