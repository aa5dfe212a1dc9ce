namespace DqMlNet.Models;

/// <summary>Builds a model from its <see cref="ModelSpec"/>.</summary>
public static class ModelFactory
{
    /// <summary>Creates an untrained model; weights are drawn from TorchSharp's global generator (seed it first).</summary>
    public static DqModel Create(ModelSpec spec) => spec.Architecture switch
    {
        Architecture.SmallCnn => new SmallCnn(spec),
        Architecture.Vgg => new Vgg(spec),
        Architecture.WideResNet => new WideResNet(spec),
        _ => throw new ArgumentOutOfRangeException(nameof(spec), spec.Architecture, "Unknown architecture."),
    };
}
