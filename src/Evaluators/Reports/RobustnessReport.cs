namespace DqMlNet.Evaluators;

/// <summary>
/// The result of a robustness evaluation, in the spirit of a RobustBench record; serialised as camelCase JSON by
/// <see cref="ReportWriter"/> (schema documented in docs/robustness-report.md).
/// </summary>
public sealed record RobustnessReport
{
    /// <summary>
    /// Schema version of the JSON document: 3 adds <see cref="Suite"/>, <see cref="Images"/> (per-image outcomes) and
    /// <see cref="Shard"/>; every field of version 2 keeps its name and meaning.
    /// </summary>
    public int SchemaVersion { get; init; } = 3;

    /// <summary>Model description (architecture, mode, bits, β).</summary>
    public string Model { get; init; } = "";

    /// <summary>
    /// SHA-256 (lowercase hex) of the model file's bytes this report describes, or null when unknown (an in-memory
    /// model). Readers of a <c>&lt;model&gt;.robustness.json</c> side file use the report only when it matches the model.
    /// </summary>
    public string? ModelSha256 { get; init; }

    /// <summary>
    /// Which artifact the numbers describe: <see cref="RobustnessReport.FloatModel"/> (the TorchSharp model with float
    /// weights), <see cref="RobustnessReport.DeployedExport"/> (the int8 ONNX export as ONNX Runtime scores it, attacked
    /// through its differentiable twin), or a caller's classifier.
    /// </summary>
    public string Artifact { get; init; } = "";

    /// <summary>The <see cref="Artifact"/> of an evaluation of a <c>DqModel</c>.</summary>
    public const string FloatModel = "float TorchSharp model";

    /// <summary>The <see cref="Artifact"/> of an evaluation of a deployed ONNX export (a saved zip, an ONNX file, a fitted stage).</summary>
    public const string DeployedExport = "deployed ONNX export (ONNX Runtime)";

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

    /// <summary>
    /// Per ε: accuracy under the per-example worst case over all attacks, with its <see cref="WorstCaseResult.Bound"/>:
    /// a worst case only when the suite includes a score-based attack (Square), otherwise an upper bound from gradient
    /// attacks only.
    /// </summary>
    public IReadOnlyList<WorstCaseResult> WorstCase { get; init; } = Array.Empty<WorstCaseResult>();

    /// <summary>Per activation layer: error amplification d_l and the layer's spectral norm where it has a weight.</summary>
    public IReadOnlyList<LayerResult> Layers { get; init; } = Array.Empty<LayerResult>();

    /// <summary>Per conv/linear layer: operator norm (power iteration through conv2d/conv_transpose2d) and reshaped-kernel norm.</summary>
    public IReadOnlyList<SpectralNormResult> SpectralNorms { get; init; } = Array.Empty<SpectralNormResult>();

    /// <summary>
    /// Product of the layers' operator norms: an upper bound of the Lipschitz constant of the conv/linear layers
    /// (eval-mode BatchNorm is included only where it is folded into the weights, as in a deployed export).
    /// </summary>
    public double? SpectralNormProduct { get; init; }

    /// <summary>ε of the FGSM perturbation behind <see cref="Layers"/>.</summary>
    public double? AmplificationEpsilon { get; init; }

    /// <summary>Gradient-masking and consistency warnings; an empty list means every check passed.</summary>
    public IReadOnlyList<string> Warnings { get; init; } = Array.Empty<string>();

    /// <summary>What ran (attacks with their settings, ε, cascade, checks); null in reports older than schema 3.</summary>
    public EvaluationSuite? Suite { get; init; }

    /// <summary>Per-image outcomes behind the aggregates; null in reports older than schema 3.</summary>
    public ImageResults? Images { get; init; }

    /// <summary>Which shard of an evaluation this report holds; null for a whole (or merged) evaluation.</summary>
    public ShardSection? Shard { get; init; }

    /// <summary>Robust accuracy of <paramref name="attack"/> at <paramref name="epsilon"/>, or null.</summary>
    public double? RobustAccuracy(string attack, double epsilon) =>
        Attacks.FirstOrDefault(a => a.Name == attack && Math.Abs(a.Epsilon - epsilon) < 1e-12)?.RobustAccuracy;

    /// <summary>Worst-case robust accuracy at <paramref name="epsilon"/>, or null.</summary>
    public double? WorstCaseAccuracy(double epsilon) =>
        WorstCase.FirstOrDefault(w => Math.Abs(w.Epsilon - epsilon) < 1e-12)?.RobustAccuracy;

    /// <summary>Whether the minimum at <paramref name="epsilon"/> is a worst case or an upper bound, or null.</summary>
    public RobustBound? WorstCaseBound(double epsilon) =>
        WorstCase.FirstOrDefault(w => Math.Abs(w.Epsilon - epsilon) < 1e-12)?.Bound;
}

/// <summary>What a minimum over attacks may be called.</summary>
[System.Text.Json.Serialization.JsonConverter(typeof(System.Text.Json.Serialization.JsonStringEnumConverter<RobustBound>))]
public enum RobustBound
{
    /// <summary>Gradient attacks only: the model may be less robust than this (masked gradients hide the way); "upper bound (gradient attacks only)".</summary>
    UpperBound,

    /// <summary>The suite includes a score-based attack (Square), which needs no gradient: "worst case".</summary>
    WorstCase,
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

    /// <summary>
    /// Wall-clock seconds of this attack at this ε (a merged report: the sum over its shards). The one non-deterministic
    /// field of a report: it differs between runs of the same evaluation, and two reports compare equal without it.
    /// </summary>
    public double Seconds { get; init; }
}

/// <summary>Minimum over attacks at one ε (per example: robust only if no attack fooled it).</summary>
/// <param name="Epsilon">Budget.</param>
/// <param name="RobustAccuracy">Fraction of all images no attack fooled.</param>
/// <param name="Attacks">Attacks the minimum is over.</param>
/// <param name="Bound">Worst case (the suite has a score-based attack) or upper bound (gradient attacks only).</param>
public sealed record WorstCaseResult(double Epsilon, double RobustAccuracy, IReadOnlyList<string> Attacks, RobustBound Bound = RobustBound.UpperBound)
{
    /// <summary>"worst case" or "upper bound (gradient attacks only)": how tables name this number.</summary>
    public string Label => LabelOf(Bound);

    /// <summary>The printed name of a <see cref="RobustBound"/>.</summary>
    public static string LabelOf(RobustBound bound) => bound == RobustBound.WorstCase ? "worst case" : "upper bound (gradient attacks only)";
}

/// <summary>Error amplification of one activation layer.</summary>
public sealed record LayerResult(int Index, string Layer, double Amplification);

/// <summary>Spectral norms of one weight layer.</summary>
/// <param name="Layer">Layer name.</param>
/// <param name="SpectralNorm">Operator norm of the layer on its input shape (the bound's factor).</param>
/// <param name="ReshapedKernelNorm">Norm of the weight reshaped to [c_out, c_in·kh·kw] (what the regulariser constrains; not a bound for convolutions).</param>
public sealed record SpectralNormResult(string Layer, double SpectralNorm, double? ReshapedKernelNorm = null);
