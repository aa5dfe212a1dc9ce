using TorchSharp;
using static TorchSharp.torch;

namespace DqMlNet.Models;

/// <summary>
/// Named layers applied in order. Unlike <c>nn.Sequential</c> it never disposes intermediate results, because
/// recorded activations (for error amplification) are intermediate results; callers scope tensors per batch with
/// <c>torch.NewDisposeScope()</c>.
/// </summary>
public sealed class LayerStack : nn.Module<Tensor, Tensor>
{
    private readonly List<nn.Module<Tensor, Tensor>> layers = new();
    private readonly List<(string Name, nn.Module<Tensor, Tensor> Layer)> named = new();

    /// <summary>Creates the stack from (name, layer) pairs.</summary>
    public LayerStack(IEnumerable<(string Name, nn.Module<Tensor, Tensor> Layer)> layers) : base(nameof(LayerStack))
    {
        foreach (var (name, layer) in layers)
        {
            register_module(name, layer);
            this.layers.Add(layer);
            named.Add((name, layer));
        }
    }

    /// <summary>The layers in application order, with their names (exporters walk these).</summary>
    public IReadOnlyList<(string Name, nn.Module<Tensor, Tensor> Layer)> Layers => named;

    /// <inheritdoc />
    public override Tensor forward(Tensor input)
    {
        var x = input;
        foreach (var layer in layers) x = layer.call(x);
        return x;
    }
}
