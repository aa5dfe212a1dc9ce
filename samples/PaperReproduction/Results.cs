using DqMlNet.Evaluators;

namespace DqMlNet.Samples.PaperReproduction;

/// <summary>What training produced for one run (stored as JSON, so a restarted study reports the original timings).</summary>
internal sealed record TrainedModel
{
    public required string Id { get; init; }
    public required string Label { get; init; }
    /// <summary>FP, VQ or DQ.</summary>
    public required string Family { get; init; }
    public int? Bits { get; init; }
    public double Beta { get; init; }
    public bool AdversariallyTrained { get; init; }
    public required string Architecture { get; init; }
    public required int TrainImages { get; init; }
    public required int Epochs { get; init; }
    public required double TrainSeconds { get; init; }
    public required int TestImages { get; init; }
    /// <summary>Accuracy on the whole test split.</summary>
    public required double CleanAccuracy { get; init; }
    /// <summary>Σ_l ‖W_l W_lᵀ − I‖²_F over the conv/linear layers.</summary>
    public required double Orthogonality { get; init; }
}

/// <summary>
/// Every measurement of one model; the reports not run for it are null. <see cref="Strong"/> is the strong suite on the
/// float TorchSharp model; <see cref="Deployed"/> the same suite on the model's int8 ONNX export (ONNX Runtime judges,
/// its differentiable twin gives the gradients): the claims are judged on the deployed worst case.
/// </summary>
internal sealed record ModelResults(TrainedModel Model, RobustnessReport Quick, RobustnessReport? Strong, RobustnessReport? Transfer,
    RobustnessReport? Squeezed, RobustnessReport? Deployed = null)
{
    public string Id => Model.Id;

    /// <summary>The deployed model's minimum over the strong suite at ε (a worst case when the suite has Square), or null.</summary>
    public double? WorstCase(double epsilon) => Deployed?.WorstCaseAccuracy(epsilon);

    /// <summary>
    /// One attack's own robust accuracy at ε, from the paper's attacks or the transfer run, or null. The strong suites
    /// run as a cascade (each attack only on the images every earlier one failed on), so their per-attack figures are
    /// cumulative minima, not one attack's result, and never answer this.
    /// </summary>
    public double? Robust(string attack, double epsilon) =>
        Quick.RobustAccuracy(attack, epsilon) ?? Transfer?.RobustAccuracy(attack, epsilon);
}

/// <summary>All results of one study, looked up by run id.</summary>
internal sealed class StudyResults(StudyConfig config, IReadOnlyList<ModelResults> models, TimeSpan elapsed)
{
    public StudyConfig Config { get; } = config;
    public IReadOnlyList<ModelResults> Models { get; } = models;
    public TimeSpan Elapsed { get; } = elapsed;
    public string Pgd => $"PGD-{Config.PgdSteps}";

    public ModelResults? Find(string id) => Models.FirstOrDefault(m => m.Id == id);

    public ModelResults Get(string id) => Find(id) ?? throw new KeyNotFoundException($"no results for run '{id}'");
}
