using System.Text.Json.Serialization;
using DqMlNet.Lipschitz;

namespace DqMlNet.TorchTraining;

/// <summary>
/// How to train (the model itself is described by a <see cref="Models.ModelSpec"/>). Defaults are the quickstart's
/// CPU recipe: Adam 1e-3, batch 128; the paper's WRN recipe is SGD-Nesterov 0.1, weight decay 5e-4, step schedule.
/// </summary>
public sealed record DqTrainerOptions
{
    /// <summary>Number of passes over the training data.</summary>
    public int Epochs { get; init; } = 2;

    /// <summary>Images per optimisation step.</summary>
    public int BatchSize { get; init; } = 128;

    /// <summary>Optimizer.</summary>
    public OptimizerKind Optimizer { get; init; } = OptimizerKind.Adam;

    /// <summary>Base learning rate.</summary>
    public double LearningRate { get; init; } = 1e-3;

    /// <summary>Momentum for SGD-Nesterov.</summary>
    public double Momentum { get; init; } = 0.9;

    /// <summary>L2 weight decay (all parameters).</summary>
    public double WeightDecay { get; init; }

    /// <summary>Learning-rate schedule.</summary>
    public LearningRateSchedule Schedule { get; init; } = LearningRateSchedule.Constant;

    /// <summary>
    /// A per-step learning-rate schedule (ML.NET's StartLearningRateRatio/FinalLearningRateRatio); null: none. Use with
    /// <see cref="Schedule"/> = Constant only.
    /// </summary>
    public OneCycleSchedule? OneCycle { get; init; }

    /// <summary>Epochs (0-based) at which the step schedule multiplies the rate by <see cref="StepGamma"/>.</summary>
    public int[] StepMilestones { get; init; } = Array.Empty<int>();

    /// <summary>Factor of the step schedule.</summary>
    public double StepGamma { get; init; } = 0.2;

    /// <summary>Lipschitz regularisation strength β (DQ mode only; 0 = vanilla quantization). Paper range ≈ 3e-4 … 2e-3.</summary>
    public double Beta { get; init; }

    /// <summary>Which layers the regulariser constrains and how.</summary>
    public LipschitzOptions Lipschitz { get; init; } = new();

    /// <summary>Adversarial training (null: none).</summary>
    public AdversarialTraining? Adversarial { get; init; }

    /// <summary>Random crop (zero padding <see cref="CropPadding"/>) and, if <see cref="HorizontalFlip"/>, flips.</summary>
    public bool Augment { get; init; }

    /// <summary>Padding of the random crop.</summary>
    public int CropPadding { get; init; } = 4;

    /// <summary>Random horizontal flips when augmenting.</summary>
    public bool HorizontalFlip { get; init; } = true;

    /// <summary>Seed of weight initialisation, shuffling and augmentation. Same seed + same threads ⇒ identical weights.</summary>
    public int Seed { get; init; }

    /// <summary>
    /// LibTorch intra-op threads, a process-wide setting applied when training starts because the caller asked for it;
    /// null (the default) leaves the process as it is (see <c>DqRuntime.ConfigureProcess</c>).
    /// </summary>
    public int? Threads { get; init; }

    /// <summary>"cpu", "cuda" or "cuda:N".</summary>
    public string Device { get; init; } = "cpu";

    /// <summary>Folder for the per-epoch checkpoint (written atomically); null disables checkpoints.</summary>
    public string? CheckpointDirectory { get; init; }

    /// <summary>Resume from the checkpoint in <see cref="CheckpointDirectory"/> when one exists.</summary>
    public bool Resume { get; init; } = true;

    /// <summary>Report progress every this many batches (and at each epoch's end).</summary>
    public int ProgressInterval { get; init; } = 20;

    /// <summary>Throws an <see cref="ArgumentException"/> naming the first invalid option.</summary>
    public void Validate()
    {
        static void Check(bool ok, string name, object value, string rule)
        {
            if (!ok) throw new ArgumentOutOfRangeException(name, value, $"{name} {rule} (got {value}).");
        }
        Check(Epochs >= 1, nameof(Epochs), Epochs, "must be at least 1");
        Check(BatchSize >= 1, nameof(BatchSize), BatchSize, "must be at least 1");
        Check(LearningRate > 0 && double.IsFinite(LearningRate), nameof(LearningRate), LearningRate, "must be a finite positive number");
        Check(Momentum >= 0 && Momentum < 1, nameof(Momentum), Momentum, "must be in [0, 1)");
        Check(WeightDecay >= 0 && double.IsFinite(WeightDecay), nameof(WeightDecay), WeightDecay, "must be ≥ 0");
        Check(Beta >= 0 && double.IsFinite(Beta), nameof(Beta), Beta, "must be ≥ 0 (the paper's range is about 3e-4 to 2e-3)");
        Check(StepGamma > 0 && StepGamma <= 1, nameof(StepGamma), StepGamma, "must be in (0, 1]");
        Check(CropPadding >= 0, nameof(CropPadding), CropPadding, "must be ≥ 0");
        Check(ProgressInterval >= 1, nameof(ProgressInterval), ProgressInterval, "must be at least 1");
        if (Threads is int t) Check(t >= 1, nameof(Threads), t, "must be at least 1");
        Adversarial?.Validate();
        OneCycle?.Validate();
        if (OneCycle is not null && Schedule != LearningRateSchedule.Constant)
            throw new ArgumentException($"OneCycle is a per-step schedule and replaces Schedule; set Schedule = Constant (got {Schedule}).");
    }

    /// <summary>The options that determine the weights (not epochs, threads, device, paths): a resumed run must match them.</summary>
    internal string RecipeFingerprint() => System.Text.Json.JsonSerializer.Serialize(new
    {
        BatchSize, Optimizer = Optimizer.ToString(), LearningRate, Momentum, WeightDecay, Schedule = Schedule.ToString(),
        StepMilestones, StepGamma, Beta, Lipschitz.IncludeFirstLayer, Lipschitz.IncludeLastLayer, Form = Lipschitz.Form.ToString(),
        Augment, CropPadding, HorizontalFlip, Seed, Adversarial,
    }) + (Lipschitz.Probes is int probes ? $";probes={probes}" : "") // appended so exact-penalty checkpoints keep their fingerprint
       + (OneCycle is { } c ? FormattableString.Invariant($";onecycle={c.StartRatio:R},{c.FinalRatio:R},{c.WarmupRatio:R},{Epochs}") : ""); // its steps span all epochs
}
