namespace DqMlNet.Evaluators;

/// <summary>
/// What an evaluation ran, as the report records it: two reports (two shards) are parts of one evaluation only when their
/// suites are equal, field by field (<see cref="Matches"/>).
/// </summary>
public sealed record EvaluationSuite
{
    /// <summary>The attacks that ran, in order (the cascade order when <see cref="Cascade"/>).</summary>
    public IReadOnlyList<SuiteAttack> Attacks { get; init; } = Array.Empty<SuiteAttack>();

    /// <summary>Attacks of the options that were skipped (they need gradients and the classifier is a black box).</summary>
    public IReadOnlyList<string> Skipped { get; init; } = Array.Empty<string>();

    /// <summary>The classifier had no gradients (an ONNX file scored alone): every number is an upper bound.</summary>
    public bool ScoreOnly { get; init; }

    /// <summary>The budgets ε, ascending and distinct.</summary>
    public IReadOnlyList<double> Epsilons { get; init; } = Array.Empty<double>();

    /// <summary>Whether attacks after the first ran only on the images the earlier ones failed to fool.</summary>
    public bool Cascade { get; init; }

    /// <summary>ε of the FGSM perturbation behind error amplification, or null when it was not measured.</summary>
    public double? AmplificationEpsilon { get; init; }

    /// <summary>Whether the gradient-masking checks ran.</summary>
    public bool MaskingChecks { get; init; }

    /// <summary>Images the masking probes used (the first this-many rows of the evaluated set).</summary>
    public int MaskingSubset { get; init; }

    /// <summary>Accuracy difference above which a masking check fires.</summary>
    public double MaskingTolerance { get; init; }

    /// <summary>Whether <paramref name="other"/> describes the same evaluation (every field equal; lists element by element).</summary>
    public bool Matches(EvaluationSuite? other) =>
        other is not null && Attacks.SequenceEqual(other.Attacks, SuiteAttack.Comparer) && Skipped.SequenceEqual(other.Skipped) && ScoreOnly == other.ScoreOnly &&
        Epsilons.SequenceEqual(other.Epsilons) && Cascade == other.Cascade && AmplificationEpsilon == other.AmplificationEpsilon &&
        MaskingChecks == other.MaskingChecks && MaskingSubset == other.MaskingSubset && MaskingTolerance == other.MaskingTolerance;
}

/// <summary>One attack of a suite as it ran.</summary>
public sealed record SuiteAttack
{
    /// <summary>The attack's name (e.g. "PGD-10").</summary>
    public string Name { get; init; } = "";

    /// <summary>Its settings at each ε of <see cref="EvaluationSuite.Epsilons"/> (steps, step size, restarts, queries, gradient mode).</summary>
    public IReadOnlyList<string> Settings { get; init; } = Array.Empty<string>();

    /// <summary>"Linf" or "L2".</summary>
    public string Norm { get; init; } = "Linf";

    /// <summary>Score-based (needs no gradient): a suite with one may call its minimum a worst case.</summary>
    public bool ScoreBased { get; init; }

    internal static readonly IEqualityComparer<SuiteAttack> Comparer = EqualityComparer<SuiteAttack>.Create(
        (a, b) => a is not null && b is not null && a.Name == b.Name && a.Norm == b.Norm && a.ScoreBased == b.ScoreBased && a.Settings.SequenceEqual(b.Settings),
        a => a.Name.GetHashCode(StringComparison.Ordinal));
}
