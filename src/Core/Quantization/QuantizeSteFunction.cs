using static TorchSharp.torch;
using static TorchSharp.torch.autograd;

namespace DqMlNet.Quantization;

/// <summary>
/// The activation quantizer as one autograd node: forward is <see cref="ActivationQuantizer.Quantize"/> (4 elementwise
/// passes), backward multiplies the incoming gradient by the (0, 6) mask. Written as the composition
/// q.detach() + (s − s.detach()) it costs about three times as many passes over the activations and as many graph
/// nodes, which dominated SmallCnn's step time.
/// </summary>
internal sealed class QuantizeSteFunction : SingleTensorFunction<QuantizeSteFunction>
{
    public override string Name => nameof(QuantizeSteFunction);

    public static Tensor Apply(Tensor x, int bits) => apply(x, bits);

    public override Tensor forward(AutogradContext ctx, params object[] vars)
    {
        var x = (Tensor)vars[0];
        ctx.save_for_backward(new List<Tensor> { x });
        return ActivationQuantizer.Quantize(x, (int)vars[1]);
    }

    public override List<Tensor> backward(AutogradContext ctx, Tensor gradOutput)
    {
        var x = ctx.get_saved_variables()[0];
        using var scope = NewDisposeScope();
        var inside = x.gt(0f).logical_and_(x.lt(ActivationQuantizer.Range));
        var gradInput = gradOutput.mul(inside).MoveToOuterDisposeScope();
        return new List<Tensor> { gradInput, null! };
    }
}
