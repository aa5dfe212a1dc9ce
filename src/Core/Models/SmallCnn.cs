using TorchSharp;
using static TorchSharp.torch;

namespace DqMlNet.Models;

/// <summary>
/// The CPU-scale model: conv3×3(32) – act – maxpool – conv3×3(64) – act – maxpool – fc(256) – act – fc(classes),
/// optionally with BatchNorm after each convolution. For 28×28×1 (Fashion-MNIST) and 32×32×3 (CIFAR, SVHN).
/// </summary>
public sealed class SmallCnn : DqModel
{
    private readonly LayerStack features;
    private readonly LayerStack classifier;

    /// <summary>Builds the model for <paramref name="spec"/> (architecture must be SmallCnn).</summary>
    public SmallCnn(ModelSpec spec) : base(nameof(SmallCnn), spec)
    {
        if (spec.Architecture != Architecture.SmallCnn)
            throw new ArgumentException($"SmallCnn cannot be built from a {spec.Architecture} spec.", nameof(spec));
        bool bn = spec.BatchNorm;
        var f = new List<(string, nn.Module<Tensor, Tensor>)>
        {
            ("normalize", NewNormalization()),
            ("conv1", NewConv(spec.Channels, 32, 3, padding: 1, bias: !bn)),
        };
        if (bn) f.Add(("bn1", nn.BatchNorm2d(32)));
        f.Add(("act1", NewActivation()));
        f.Add(("pool1", new MaxPool2x2()));
        f.Add(("conv2", NewConv(32, 64, 3, padding: 1, bias: !bn)));
        if (bn) f.Add(("bn2", nn.BatchNorm2d(64)));
        f.Add(("act2", NewActivation()));
        f.Add(("pool2", new MaxPool2x2()));
        f.Add(("flatten", nn.Flatten()));
        features = new LayerStack(f);

        long flat = 64L * (spec.Height / 2 / 2) * (spec.Width / 2 / 2);
        classifier = new LayerStack(new (string, nn.Module<Tensor, Tensor>)[]
        {
            ("fc1", NewLinear(flat, 256)),
            ("act3", NewActivation()),
            ("fc2", NewLinear(256, spec.NumClasses)),
        });
        RegisterComponents();
    }

    /// <inheritdoc />
    public override IReadOnlyList<LayerStack> Stages => new[] { features, classifier };

    /// <inheritdoc />
    public override Tensor forward(Tensor input)
    {
        return classifier.forward(features.forward(input));
    }
}
