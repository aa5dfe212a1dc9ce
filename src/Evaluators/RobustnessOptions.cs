namespace DqMlNet.Evaluators;

/// <summary>What <see cref="RobustnessEvaluator"/> runs.</summary>
public sealed record RobustnessOptions
{
    /// <summary>
    /// Attacks to run at every ε. Default: <see cref="AttackSuites.Light"/> with smooth-proxy PGD (APGD-CE, APGD-T,
    /// Square with 1,000 queries, PGD-proxy), which includes a score-based attack; <see cref="AttackSuites.AutoAttack"/>
    /// is the full-strength suite.
    /// </summary>
    public IReadOnlyList<AttackEntry> Attacks { get; init; } = AttackSuites.Light(quantized: true);

    /// <summary>Budgets ε in [0, 1] pixel units (L∞ unless the attack is L2).</summary>
    public IReadOnlyList<double> Epsilons { get; init; } = new[] { 0.05, 0.1 };

    /// <summary>Images per attack batch.</summary>
    public int BatchSize { get; init; } = 256;

    /// <summary>Evaluate only the first this-many images (null: all).</summary>
    public int? Limit { get; init; }

    /// <summary>
    /// Seed of every attack's randomness. When it is not set, <c>EvaluateRobustness</c> draws one from the caller's
    /// MLContext (so <c>new MLContext(seed: s)</c> decides it, as it decides ML.NET's own trainers' randomness) and
    /// <see cref="RobustnessEvaluator"/> uses 0. The report records the seed that ran.
    /// </summary>
    public long Seed
    {
        get => seed ?? 0;
        init => seed = value;
    }

    /// <summary>Whether <see cref="Seed"/> was set (copies made with <c>with</c> keep it).</summary>
    public bool HasSeed => seed is not null;

    private readonly long? seed;

    /// <summary>ε of the FGSM perturbation used for per-layer error amplification (null: skip).</summary>
    public double? AmplificationEpsilon { get; init; } = 0.1;

    /// <summary>Run the gradient-masking probes (extra attacks on a subset) and checks.</summary>
    public bool MaskingChecks { get; init; } = true;

    /// <summary>Images the masking probes use.</summary>
    public int MaskingSubset { get; init; } = 100;

    /// <summary>Accuracy difference (fraction) above which a masking check fires.</summary>
    public double MaskingTolerance { get; init; } = 0.02;

    /// <summary>
    /// AutoAttack's order of work: at each ε, every attack after the first runs only on the images that all earlier
    /// attacks (in <see cref="Attacks"/> order) failed to fool. The cost falls with every image already broken; each
    /// attack's robust accuracy becomes cumulative ("after this attack and all before it"), flagged by
    /// <see cref="AttackResult.Cumulative"/>. The first attack's row equals the full run's, and so does the worst case:
    /// every random choice of an attack (random start, Square's search, target classes) is keyed by the image's global
    /// row, so a survivor meets exactly the attack it meets in the full run. Off by default.
    /// </summary>
    public bool Cascade { get; init; }

    /// <summary>
    /// Evaluate only this shard's rows of the (<see cref="Limit"/>-capped) data, each under its global row index (null:
    /// every row). The report then carries a <see cref="RobustnessReport.Shard"/> section and its per-image outcomes;
    /// <see cref="RobustnessShards.Merge"/> joins the shards' reports into the report of one process evaluating every row.
    /// </summary>
    public EvaluationShard? Shard { get; init; }

    /// <summary>
    /// Device of the attacks' forward and backward passes: "cpu", "cuda" or "cuda:N" (null: wherever the model is). A
    /// <see cref="DqMlNet.Models.DqModel"/> or a deployed model's differentiable twin is moved there for the evaluation and
    /// back after; a deployed model's verdicts stay on its ONNX Runtime session. Asking for CUDA in a process without it
    /// (the TorchSharp-cpu package, or no GPU) is an error naming the fix.
    /// </summary>
    public string? Device { get; init; }

    /// <summary>Free-text description of the model for the report.</summary>
    public string? ModelDescription { get; init; }

    /// <summary>Throws for invalid settings.</summary>
    public void Validate()
    {
        if (Attacks.Count == 0) throw new ArgumentException("RobustnessOptions.Attacks is empty: add at least one attack (e.g. AttackSuites.Light(quantized: true)).");
        if (Epsilons.Count == 0 || Epsilons.Any(e => !(e >= 0) || double.IsInfinity(e)))
            throw new ArgumentException("RobustnessOptions.Epsilons needs at least one finite ε ≥ 0 (pixel units, e.g. 8/255).");
        if (BatchSize < 1) throw new ArgumentOutOfRangeException(nameof(BatchSize), BatchSize, "BatchSize must be at least 1.");
        if (Limit is < 1) throw new ArgumentOutOfRangeException(nameof(Limit), Limit, "Limit must be at least 1.");
        Shard?.Validate();
        if (Device is not null)
        {
            try { Runtime.TorchRuntime.ParseDevice(Device); }
            catch (ArgumentException ex) { throw new ArgumentException($"RobustnessOptions.Device: {ex.Message}", nameof(Device), ex); }
        }
        if (MaskingSubset < 1) throw new ArgumentOutOfRangeException(nameof(MaskingSubset), MaskingSubset, "MaskingSubset must be at least 1.");
    }
}
