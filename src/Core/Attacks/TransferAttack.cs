using static TorchSharp.torch;

namespace DqMlNet.Attacks;

/// <summary>
/// Black-box transfer: crafts adversarial examples with <see cref="Inner"/> on a differentiable
/// <see cref="Substitute"/> (one model, or an <see cref="EnsembleClassifier"/> of several) and hands them to the target,
/// which is only queried for its predictions. Crafting always runs every step of the inner attack and keeps each
/// example's maximal-loss iterate on the substitute, whatever the inner attack's <c>EarlyStop</c>: an example that
/// barely fools the substitute rarely fools another model. For stronger transfer use <see cref="MiFgsm"/> (momentum)
/// as the inner attack and several substitutes.
/// </summary>
public sealed class TransferAttack : Attack
{
    /// <summary>Transfer from one substitute.</summary>
    public TransferAttack(Attack inner, IClassifier substitute, string? substituteName = null)
        : base($"Transfer({(inner ?? throw new ArgumentNullException(nameof(inner))).Name})", inner.Epsilon, inner.Norm)
    {
        Inner = inner;
        Substitute = substitute ?? throw new ArgumentNullException(nameof(substitute));
        SubstituteName = substituteName ?? "substitute";
    }

    /// <summary>Transfer from an ensemble of substitutes whose logits are averaged (Liu et al. 2017; Dong et al. 2018).</summary>
    public TransferAttack(Attack inner, IReadOnlyList<IClassifier> substitutes, string? substituteName = null)
        : this(inner, new EnsembleClassifier(substitutes), substituteName ?? $"ensemble of {substitutes?.Count} substitutes")
    {
    }

    /// <summary>The attack run on the substitute (always for all its steps).</summary>
    public Attack Inner { get; }

    /// <summary>The model the examples are crafted on.</summary>
    public IClassifier Substitute { get; }

    /// <summary>Name of the substitute, for reports.</summary>
    public string SubstituteName { get; }

    /// <inheritdoc />
    public override bool NeedsGradients => false;

    /// <inheritdoc />
    public override string Describe() => $"Transfer from {SubstituteName}: {Inner.DescribeFullSteps()}";

    /// <inheritdoc />
    protected override AttackOutput Run(IClassifier model, Tensor x, Tensor y, Tensor? target, AttackContext context)
    {
        // The inner attack draws from its own name's stream, still keyed by each image's global index.
        var random = new RowRandom(DqMlNet.TorchTraining.SeedMixer.Mix(context.Random.Key, Inner.Name.GetStableHashCode(), Inner.Seed), context.Random.RowKeys);
        var crafted = Inner.PerturbWith(Substitute, x, y, target, new AttackContext(random, FullSteps: true, context.CancellationToken)).Adversarial;
        return new AttackOutput(crafted.to(model.Device));
    }
}
