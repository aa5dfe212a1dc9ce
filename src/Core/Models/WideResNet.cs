using TorchSharp;
using static TorchSharp.torch;

namespace DqMlNet.Models;

/// <summary>
/// Pre-activation Wide ResNet (Zagoruyko &amp; Komodakis): a 3×3 stem, three groups of n = (depth − 4) / 6 blocks of
/// widths 16k, 32k, 64k (strides 1, 2, 2), then BN – act – global average pooling – linear. WRN-28-10 is the paper's
/// CIFAR-10 model; WRN-16-4 is a CPU-sized one.
/// </summary>
public sealed class WideResNet : DqModel
{
    private readonly LayerStack body;
    private readonly LayerStack head;

    /// <summary>Builds the model for <paramref name="spec"/> (architecture must be WideResNet).</summary>
    public WideResNet(ModelSpec spec) : base(nameof(WideResNet), spec)
    {
        if (spec.Architecture != Architecture.WideResNet)
            throw new ArgumentException($"WideResNet cannot be built from a {spec.Architecture} spec.", nameof(spec));
        int n = (spec.Depth - 4) / 6;
        int k = Math.Max(1, (int)Math.Round(spec.WidthFactor));
        long[] widths = { 16, 16L * k, 32L * k, 64L * k };

        var layers = new List<(string, nn.Module<Tensor, Tensor>)>
        {
            ("normalize", NewNormalization()),
            ("conv", NewConv(spec.Channels, widths[0], 3, padding: 1, bias: false)),
        };
        long inWidth = widths[0];
        for (int g = 0; g < 3; g++)
        {
            for (int b = 0; b < n; b++)
            {
                long stride = b == 0 && g > 0 ? 2 : 1;
                layers.Add(($"group{g + 1}_block{b + 1}", new PreActivationBlock(NewActivation, NewConv, inWidth, widths[g + 1], stride)));
                inWidth = widths[g + 1];
            }
        }
        body = new LayerStack(layers);
        head = new LayerStack(new (string, nn.Module<Tensor, Tensor>)[]
        {
            ("bn", nn.BatchNorm2d(inWidth)),
            ("act", NewActivation()),
            ("gap", nn.AdaptiveAvgPool2d(1)),
            ("flatten", nn.Flatten()),
            ("fc", NewLinear(inWidth, spec.NumClasses)),
        });
        RegisterComponents();
    }

    /// <inheritdoc />
    public override IReadOnlyList<LayerStack> Stages => new[] { body, head };

    /// <inheritdoc />
    public override Tensor forward(Tensor input) => head.forward(body.forward(input));
}
