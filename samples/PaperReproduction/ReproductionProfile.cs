using DqMlNet.Data;
using DqMlNet.Models;
using DqMlNet.TorchTraining;

namespace DqMlNet.Samples.PaperReproduction;

/// <summary>Which data set a study trains and attacks on.</summary>
internal enum StudyDataset
{
    FashionMnist,
    Cifar10,
    Svhn,
}

/// <summary>
/// One study of the paper's experiments on one data set: the bit sweep (FP, VQ-k, DQ-k), the β sweep, the strong suite, transfer
/// attacks, adversarial training, input squeezing and (optionally) a deeper network for error amplification.
/// </summary>
internal sealed record StudyConfig
{
    public required string Name { get; init; }
    public required StudyDataset Dataset { get; init; }
    public required ModelSpec BaseSpec { get; init; }
    public required DqTrainerOptions Trainer { get; init; }
    public int? TrainLimit { get; init; }
    public required double Beta { get; init; }
    public required IReadOnlyList<int> Bits { get; init; }
    public required IReadOnlyList<double> BetaSweep { get; init; }
    public int BetaSweepBits { get; init; } = 4;
    /// <summary>ε grid of FGSM, R+FGSM, BIM and PGD (every model).</summary>
    public required IReadOnlyList<double> Epsilons { get; init; }
    /// <summary>ε of the strong suite, transfer, adversarial-training and squeezing comparisons (a subset of <see cref="Epsilons"/>).</summary>
    public required IReadOnlyList<double> KeyEpsilons { get; init; }
    public int EvalLimit { get; init; } = 500;
    public int PgdSteps { get; init; } = 20;
    public int SquareQueries { get; init; } = 1000;
    /// <summary>
    /// Kept for stored configurations; the strong suite now runs at every bit width of <see cref="Bits"/> (claims are
    /// judged on worst cases only), so this list no longer selects anything.
    /// </summary>
    public required IReadOnlyList<int> StrongBits { get; init; }
    public required AdversarialTraining AdversarialTraining { get; init; }
    public int AdversarialBits { get; init; } = 4;
    public int SqueezeBitDepth { get; init; } = 3;
    /// <summary>Probes of the stochastic regulariser estimate for an extra DQ run at <see cref="BetaSweepBits"/> (null: skip).</summary>
    public int? StochasticProbes { get; init; } = 4;
    /// <summary>A deeper network (FP, VQ, DQ at <see cref="AdversarialBits"/>) for error amplification vs depth (claim C5); null: skip.</summary>
    public ModelSpec? DeepSpec { get; init; }
    public DqTrainerOptions? DeepTrainer { get; init; }
    public int? DeepTrainLimit { get; init; }
}

/// <summary>A named set of studies (<c>cpu</c> or <c>paper</c>).</summary>
internal sealed record ReproductionProfile(string Name, string Description, IReadOnlyList<StudyConfig> Studies)
{
    public static IReadOnlyList<string> Names => new[] { "cpu", "paper", "smoke" };

    public static ReproductionProfile Get(string name) => name.ToLowerInvariant() switch
    {
        "cpu" => Cpu,
        "paper" => Paper,
        "smoke" => Smoke,
        _ => throw new ArgumentException($"Unknown profile '{name}'. Known profiles: {string.Join(", ", Names)}."),
    };

    /// <summary>
    /// Fashion-MNIST at CPU scale (about 2 hours on 2 cores): SmallCnn without BatchNorm, Adam 1e-3, batch 128, 2 epochs
    /// (the quickstart's recipe), plus VGG-11×0.25 for depth.
    /// </summary>
    public static ReproductionProfile Cpu { get; } = new("cpu",
        "Fashion-MNIST, SmallCnn (and VGG-11×0.25 for depth), CPU scale",
        new[]
        {
            new StudyConfig
            {
                Name = "fashion-mnist",
                Dataset = StudyDataset.FashionMnist,
                BaseSpec = new ModelSpec
                {
                    Architecture = Architecture.SmallCnn, Channels = 1, Height = 28, Width = 28, NumClasses = 10,
                    Mean = new[] { 0.286f }, Std = new[] { 0.353f },
                },
                Trainer = new DqTrainerOptions { Epochs = 2, BatchSize = 128, LearningRate = 1e-3 },
                Beta = 2e-3,
                Bits = new[] { 1, 2, 3, 4, 5 },
                BetaSweep = new[] { 3e-4, 1e-3, 2e-3, 5e-3, 1e-2 },
                Epsilons = new[] { 0.05, 0.1 },
                KeyEpsilons = new[] { 0.05, 0.1 },
                StrongBits = new[] { 2, 4 },
                AdversarialTraining = new AdversarialTraining { Method = AdversarialMethod.Pgd, Epsilon = 0.1, Steps = 3, Ratio = 0.5 },
                DeepSpec = new ModelSpec
                {
                    Architecture = Architecture.Vgg, Depth = 11, WidthFactor = 0.25, BatchNorm = true, Channels = 1, Height = 28, Width = 28,
                    NumClasses = 10, Mean = new[] { 0.286f }, Std = new[] { 0.353f },
                },
                DeepTrainer = new DqTrainerOptions { Epochs = 2, BatchSize = 128, LearningRate = 1e-3 },
            },
        });

    /// <summary>The cpu profile shrunk to a couple of minutes (2,000 images, 1 epoch, 2 bit widths): checks the whole pipeline, measures nothing.</summary>
    public static ReproductionProfile Smoke { get; } = new("smoke",
        "The cpu profile on 2,000 images for 1 epoch with 2 bit widths — a pipeline check, not a measurement",
        new[]
        {
            Cpu.Studies[0] with
            {
                Name = "fashion-mnist-smoke",
                TrainLimit = 2000,
                Trainer = Cpu.Studies[0].Trainer with { Epochs = 1 },
                Bits = new[] { 2, 4 },
                BetaSweep = new[] { 1e-3, 2e-3 },
                EvalLimit = 100,
                PgdSteps = 5,
                SquareQueries = 100,
                StrongBits = new[] { 4 },
                AdversarialTraining = Cpu.Studies[0].AdversarialTraining with { Steps = 1 },
                DeepTrainer = Cpu.Studies[0].DeepTrainer! with { Epochs = 1 },
                DeepTrainLimit = 5000,
            },
        });

    /// <summary>The paper's setting (a GPU job): CIFAR-10 with WRN-28-10 and SVHN, the paper's WRN recipe (SGD momentum 0.9, batch 128, wd 5e-4, LR 0.1 ×0.2 at 60/120/160 of 200 epochs).</summary>
    public static ReproductionProfile Paper { get; } = new("paper",
        "CIFAR-10 and SVHN, Wide ResNet 28-10, the paper's recipe (needs a GPU: --device cuda)",
        new[]
        {
            PaperStudy("cifar-10", StudyDataset.Cifar10, new[] { 0.4914f, 0.4822f, 0.4465f }, new[] { 0.2470f, 0.2435f, 0.2616f }, augment: true,
                epochs: 200, milestones: new[] { 60, 120, 160 }),
            PaperStudy("svhn", StudyDataset.Svhn, new[] { 0.4377f, 0.4438f, 0.4728f }, new[] { 0.1980f, 0.2010f, 0.1970f }, augment: false,
                epochs: 40, milestones: new[] { 20, 30 }),
        });

    private static StudyConfig PaperStudy(string name, StudyDataset dataset, float[] mean, float[] std, bool augment, int epochs, int[] milestones) => new()
    {
        Name = name,
        Dataset = dataset,
        BaseSpec = new ModelSpec
        {
            Architecture = Architecture.WideResNet, Depth = 28, WidthFactor = 10, BatchNorm = true, Channels = 3, Height = 32, Width = 32,
            NumClasses = 10, Mean = mean, Std = std,
        },
        Trainer = new DqTrainerOptions
        {
            Epochs = epochs, BatchSize = 128, Optimizer = OptimizerKind.SgdNesterov, LearningRate = 0.1, Momentum = 0.9, WeightDecay = 5e-4,
            Schedule = LearningRateSchedule.Step, StepMilestones = milestones, StepGamma = 0.2, Augment = augment, HorizontalFlip = augment,
        },
        Beta = 3e-4,
        Bits = new[] { 1, 2, 3, 4, 5 },
        BetaSweep = new[] { 1e-4, 3e-4, 1e-3, 3e-3 },
        Epsilons = new[] { 2 / 255.0, 4 / 255.0, 8 / 255.0 },
        KeyEpsilons = new[] { 4 / 255.0, 8 / 255.0 },
        EvalLimit = 1000,
        StrongBits = new[] { 2, 4 },
        AdversarialTraining = new AdversarialTraining { Method = AdversarialMethod.Pgd, Epsilon = 8 / 255.0, Steps = 7, Ratio = 0.5 },
    };

    /// <summary>Loads a split of the study's data set (the loaders say where to put files that cannot be downloaded).</summary>
    public static ImageDataset Load(StudyConfig study, DatasetSplit split, string? dataDirectory, TextWriter log, CancellationToken cancellationToken)
    {
        switch (study.Dataset)
        {
            case StudyDataset.FashionMnist:
                var files = FashionMnist.EnsureAvailable(dataDirectory, log: log, cancellationToken: cancellationToken);
                return files.Load(split, FashionMnist.ClassNames);
            case StudyDataset.Cifar10:
                return Cifar10.Load(split, dataDirectory is null ? null : Path.Combine(dataDirectory, "cifar-10"), log: log);
            case StudyDataset.Svhn:
                return Svhn.Load(split, dataDirectory is null ? null : Path.Combine(dataDirectory, "svhn"), log: log);
            default:
                throw new ArgumentOutOfRangeException(nameof(study), study.Dataset, "unknown data set");
        }
    }
}
