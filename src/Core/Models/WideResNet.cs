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
                layers.Add(($"group{g + 1}_block{b + 1}", new Block(this, inWidth, widths[g + 1], stride)));
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
    public override Tensor forward(Tensor input) => head.forward(body.forward(input));

    /// <summary>Pre-activation basic block: BN – act – conv3×3 – BN – act – conv3×3, plus a (1×1 conv) shortcut.</summary>
    private sealed class Block : nn.Module<Tensor, Tensor>
    {
        private readonly nn.Module<Tensor, Tensor> bn1;
        private readonly ActivationLayer act1;
        private readonly nn.Module<Tensor, Tensor> conv1;
        private readonly nn.Module<Tensor, Tensor> bn2;
        private readonly ActivationLayer act2;
        private readonly nn.Module<Tensor, Tensor> conv2;
        private readonly nn.Module<Tensor, Tensor>? shortcut;

        public Block(WideResNet owner, long inWidth, long outWidth, long stride) : base("WideBlock")
        {
            bn1 = nn.BatchNorm2d(inWidth);
            act1 = owner.NewActivation();
            conv1 = owner.NewConv(inWidth, outWidth, 3, stride, 1, bias: false);
            bn2 = nn.BatchNorm2d(outWidth);
            act2 = owner.NewActivation();
            conv2 = owner.NewConv(outWidth, outWidth, 3, 1, 1, bias: false);
            if (inWidth != outWidth || stride != 1)
                shortcut = owner.NewConv(inWidth, outWidth, 1, stride, 0, bias: false);
            RegisterComponents();
        }

        public override Tensor forward(Tensor x)
        {
            var o = act1.call(bn1.call(x));
            var y = conv2.call(act2.call(bn2.call(conv1.call(o))));
            return y.add(shortcut is null ? x : shortcut.call(o));
        }
    }
}
