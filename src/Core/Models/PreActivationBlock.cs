using DqMlNet.Quantization;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace DqMlNet.Models;

/// <summary>
/// Wide ResNet's pre-activation basic block: o = act(BN(x)); y = conv2(act(BN(conv1(o)))); out = y + shortcut, where
/// the shortcut is x itself or, when width or stride change, a 1×1 convolution of o.
/// </summary>
public sealed class PreActivationBlock : nn.Module<Tensor, Tensor>
{
    /// <summary>Creates the block with the owning model's activation and convolution factories.</summary>
    public PreActivationBlock(Func<ActivationLayer> activation,
        Func<long, long, long, long, long, bool, QuantConv2d> conv, long inWidth, long outWidth, long stride)
        : base(nameof(PreActivationBlock))
    {
        bn1 = nn.BatchNorm2d(inWidth);
        act1 = activation();
        conv1 = conv(inWidth, outWidth, 3, stride, 1, false);
        bn2 = nn.BatchNorm2d(outWidth);
        act2 = activation();
        conv2 = conv(outWidth, outWidth, 3, 1, 1, false);
        if (inWidth != outWidth || stride != 1) shortcut = conv(inWidth, outWidth, 1, stride, 0, false);
        RegisterComponents(); // field names become module names: bn1, act1, conv1, ...
    }

    // Fields, not auto-properties: TorchSharp registers submodules by reflecting over fields.
    private readonly BatchNorm2d bn1;
    private readonly ActivationLayer act1;
    private readonly QuantConv2d conv1;
    private readonly BatchNorm2d bn2;
    private readonly ActivationLayer act2;
    private readonly QuantConv2d conv2;
    private readonly QuantConv2d? shortcut;

    /// <summary>First BatchNorm (on the block input).</summary>
    public BatchNorm2d Bn1 => bn1;

    /// <summary>First activation.</summary>
    public ActivationLayer Act1 => act1;

    /// <summary>First 3×3 convolution (carries the stride).</summary>
    public QuantConv2d Conv1 => conv1;

    /// <summary>Second BatchNorm.</summary>
    public BatchNorm2d Bn2 => bn2;

    /// <summary>Second activation.</summary>
    public ActivationLayer Act2 => act2;

    /// <summary>Second 3×3 convolution.</summary>
    public QuantConv2d Conv2 => conv2;

    /// <summary>1×1 projection of act(BN(x)) when the shape changes; null for the identity shortcut.</summary>
    public QuantConv2d? Shortcut => shortcut;

    /// <summary>
    /// Null (the default, and always in training): the residual stream stays float. Set on a model rebuilt from an
    /// ONNX export that runs the residual addition on uint8: both branches and their sum are rounded onto this grid,
    /// as the export computes them.
    /// </summary>
    public UInt8Grid? OutputGrid { get; set; }

    /// <summary>
    /// With <see cref="OutputGrid"/> and the identity shortcut: the grid the export rounds the block input onto before
    /// it is added (null when the input already is on a grid, i.e. the sum of the previous block). The first BatchNorm
    /// still sees the unrounded input.
    /// </summary>
    public UInt8Grid? SkipGrid { get; set; }

    /// <inheritdoc />
    public override Tensor forward(Tensor x)
    {
        var o = act1.call(bn1.call(x));
        var y = conv2.call(act2.call(bn2.call(conv1.call(o))));
        if (OutputGrid is not UInt8Grid grid) return y.add(shortcut is null ? x : shortcut.call(o));
        var skip = shortcut is not null ? grid.FakeQuantize(shortcut.call(o)) : SkipGrid is UInt8Grid g ? g.FakeQuantize(x) : x;
        return grid.FakeQuantize(grid.FakeQuantize(y).add(skip));
    }
}
