using TorchSharp;
using static TorchSharp.torch;

namespace DqMlNet.Models;

/// <summary>
/// Base of every activation in our models. A model can ask its activations to record their outputs for one forward
/// pass, which is how per-layer error amplification d_l = ‖a_l(x) − a_l(x')‖ / ‖a_l(x)‖ reads a_l(x).
/// </summary>
public abstract class ActivationLayer : nn.Module<Tensor, Tensor>
{
    private List<Tensor>? _sink;

    /// <summary>Creates the layer.</summary>
    protected ActivationLayer(string name) : base(name) { }

    /// <summary>The activation function itself.</summary>
    protected abstract Tensor Activate(Tensor x);

    /// <inheritdoc />
    public override Tensor forward(Tensor input)
    {
        var y = Activate(input);
        _sink?.Add(y);
        return y;
    }

    /// <summary>Starts (non-null) or stops (null) recording outputs into <paramref name="sink"/>.</summary>
    internal void RecordInto(List<Tensor>? sink) => _sink = sink;
}
