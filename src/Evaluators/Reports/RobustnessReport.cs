namespace DqMlNet.Evaluators;

/// <summary>
/// The result of a robustness evaluation, in the spirit of a RobustBench record; serialised as camelCase JSON by
/// <see cref="ReportWriter"/> (schema documented in docs/robustness-report.md).
/// </summary>
public sealed record RobustnessReport
{
    /// <summary>Schema version of the JSON document.</summary>
    public int SchemaVersion { get; init; } = 1;

    /// <summary>Model description (architecture, mode, bits, β).</summary>
    public string Model { get; init; } = "";

    /// <summary>
    /// SHA-256 (lowercase hex) of the model file's bytes this report describes, or null when unknown (an in-memory
    /// model). Readers of a <c>&lt;model&gt;.robustness.json</c> side file use the report only when it matches the model.
    /// </summary>
    public string? ModelSha256 { get; init; }

    /// <summary>Threat model, e.g. "Linf, pixels in [0, 1]".</summary>
    public string ThreatModel { get; init; } = "Linf, pixels in [0, 1]";

    /// <summary>Images evaluated.</summary>
    public int N { get; init; }

    /// <summary>Seed of the attacks.</summary>
    public long Seed { get; init; }

    /// <summary>Clean accuracy.</summary>
    public double CleanAccuracy { get; init; }

    /// <summary>One entry per (attack, ε).</summary>
    public IReadOnlyList<AttackResult> Attacks { get; init; } = Array.Empty<AttackResult>();

    /// <summary>Per ε: accuracy under the per-example worst case over all attacks.</summary>
    public IReadOnlyList<WorstCaseResult> WorstCase { get; init; } = Array.Empty<WorstCaseResult>();

    /// <summary>Per activation layer: error amplification d_l and the layer's spectral norm where it has a weight.</summary>
    public IReadOnlyList<LayerResult> Layers { get; init; } = Array.Empty<LayerResult>();

    /// <summary>Per conv/linear layer spectral norm (power iteration on the reshaped weight).</summary>
    public IReadOnlyList<SpectralNormResult> SpectralNorms { get; init; } = Array.Empty<SpectralNormResult>();

    /// <summary>Product of the spectral norms (an upper bound of the linear part's Lipschitz constant).</summary>
    public double? SpectralNormProduct { get; init; }

    /// <summary>ε of the FGSM perturbation behind <see cref="Layers"/>.</summary>
    public double? AmplificationEpsilon { get; init; }

    /// <summary>Gradient-masking and consistency warnings; an empty list means every check passed.</summary>
    public IReadOnlyList<string> Warnings { get; init; } = Array.Empty<string>();

    /// <summary>Robust accuracy of <paramref name="attack"/> at <paramref name="epsilon"/>, or null.</summary>
    public double? RobustAccuracy(string attack, double epsilon) =>
        Attacks.FirstOrDefault(a => a.Name == attack && Math.Abs(a.Epsilon - epsilon) < 1e-12)?.RobustAccuracy;

    /// <summary>Worst-case robust accuracy at <paramref name="epsilon"/>, or null.</summary>
    public double? WorstCaseAccuracy(double epsilon) =>
        WorstCase.FirstOrDefault(w => Math.Abs(w.Epsilon - epsilon) < 1e-12)?.RobustAccuracy;
}

/// <summary>One attack at one ε.</summary>
public sealed record AttackResult
{
    /// <summary>Attack name (e.g. "PGD-20").</summary>
    public string Name { get; init; } = "";

    /// <summary>Settings: steps, step size, restarts, loss, queries, gradient mode.</summary>
    public string Settings { get; init; } = "";

    /// <summary>"Linf" or "L2".</summary>
    public string Norm { get; init; } = "Linf";

    /// <summary>Budget.</summary>
    public double Epsilon { get; init; }

    /// <summary>Fraction of all images still classified correctly.</summary>
    public double RobustAccuracy { get; init; }

    /// <summary>Fraction of clean-correct images the attack fooled (in a cascade: of the images it attacked).</summary>
    public double SuccessRate { get; init; }

    /// <summary>Mean perturbation norm (in the attack's norm) over all images.</summary>
    public double MeanPerturbation { get; init; }

    /// <summary>Largest perturbation norm.</summary>
    public double MaxPerturbation { get; init; }

    /// <summary>Mean model queries per image for score-based attacks.</summary>
    public double? MeanQueries { get; init; }

    /// <summary>
    /// True when the attack ran in a cascade (<see cref="RobustnessOptions.Cascade"/>): it attacked only the images every
    /// earlier attack at this ε failed on, so <see cref="RobustAccuracy"/> counts images robust to it and to all of them.
    /// </summary>
    public bool Cumulative { get; init; }

    /// <summary>Images this attack actually perturbed (every evaluated image unless <see cref="Cumulative"/>).</summary>
    public int? Attacked { get; init; }

    /// <summary>Wall-clock seconds.</summary>
    public double Seconds { get; init; }
}

/// <summary>Worst case over attacks at one ε.</summary>
public sealed record WorstCaseResult(double Epsilon, double RobustAccuracy, IReadOnlyList<string> Attacks);

/// <summary>Error amplification of one activation layer.</summary>
public sealed record LayerResult(int Index, string Layer, double Amplification);

/// <summary>Spectral norm of one weight layer.</summary>
public sealed record SpectralNormResult(string Layer, double SpectralNorm);
