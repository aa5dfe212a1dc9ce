using static TorchSharp.torch;

namespace DqMlNet.Attacks;

/// <summary>
/// Black-box transfer: crafts adversarial examples with <see cref="Inner"/> on a differentiable
/// <see cref="Substitute"/> model and hands them to the target, which is only queried for its predictions.
/// </summary>
public sealed class TransferAttack(Attack inner, IClassifier substitute, string? substituteName = null)
    : Attack($"Transfer({inner.Name})", inner.Epsilon, inner.Norm)
{
    /// <summary>The attack run on the substitute.</summary>
    public Attack Inner { get; } = inner;

    /// <summary>The model the examples are crafted on.</summary>
    public IClassifier Substitute { get; } = substitute;

    /// <summary>Name of the substitute, for reports.</summary>
    public string SubstituteName { get; } = substituteName ?? "substitute";

    /// <inheritdoc />
    public override bool NeedsGradients => false;

    /// <inheritdoc />
    public override string Describe() => $"Transfer from {SubstituteName}: {Inner.Describe()}";

    /// <inheritdoc />
    protected override AttackOutput Run(IClassifier model, Tensor x, Tensor y, Tensor? target, Generator generator)
    {
        var crafted = Inner.Perturb(Substitute, x, y, target, (int)(generator.initial_seed() & 0x7fffffff)).Adversarial;
        return new AttackOutput(crafted.to(model.Device));
    }
}
