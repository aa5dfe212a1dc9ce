using System.Diagnostics;
using DqMlNet.Attacks;
using DqMlNet.Data;
using DqMlNet.Defences;
using DqMlNet.Evaluators;
using DqMlNet.Lipschitz;
using DqMlNet.Models;
using DqMlNet.TorchTraining;
using DqMlNet.Transforms.Onnx;

namespace DqMlNet.Samples.PaperReproduction;

/// <summary>One model to train: id, label, architecture and recipe.</summary>
internal sealed record RunDefinition(string Id, string Label, ModelSpec Spec, DqTrainerOptions Trainer, int? TrainLimit)
{
    public string Family => Spec.Mode switch
    {
        TrainingMode.FullPrecision => "FP",
        TrainingMode.Vanilla => "VQ",
        _ => "DQ",
    };
}

/// <summary>
/// Runs one study: trains every model (resuming from checkpoints), then measures it with the attacks its experiment
/// needs. Every result goes through the <see cref="ResultStore"/>, so a restart skips what is done.
/// </summary>
internal sealed class Study(StudyConfig config, ResultStore store, ReproductionOptions options, TextWriter log)
{
    private readonly Dictionary<string, (DqModel Model, TrainedModel Info)> models = new();
    private readonly Stopwatch clock = new();

    public StudyResults Run(CancellationToken cancellationToken)
    {
        clock.Start();
        Log($"study {config.Name}: results in {store.ResultsRoot}, checkpoints in {store.Root}");
        using var train = ReproductionProfile.Load(config, DatasetSplit.Train, options.DataDirectory, log, cancellationToken);
        using var test = ReproductionProfile.Load(config, DatasetSplit.Test, options.DataDirectory, log, cancellationToken);
        Log($"{train.Count} train / {test.Count} test images; {Math.Min(config.EvalLimit, test.Count)} attacked; {options.Threads} threads");
        try
        {
            var results = new List<ModelResults>();
            var plan = Plan();
            // Transfer substitutes: an FP and a VQ model trained with another seed (independent of every target), trained
            // when a measurement first needs them (every run seeds its own training, so the order changes nothing).
            var substitutes = new Lazy<(DqModel, string)[]>(() => new[]
            {
                (Train(plan.Single(r => r.Id == RunIds.Substitute), train, test, cancellationToken).Model, "FP"),
                (Train(plan.Single(r => r.Id == RunIds.SubstituteVq), train, test, cancellationToken).Model, $"VQ-{config.AdversarialBits}"),
            });
            foreach (var run in plan.Where(r => r.Id is not (RunIds.Substitute or RunIds.SubstituteVq)))
            {
                // The model is trained (or restored) only when a measurement below is not stored yet: a run whose
                // measurements are all stored is reported from them and its stored training record.
                var trained = new Lazy<(DqModel Model, TrainedModel Info)>(() => Train(run, train, test, cancellationToken));
                DqModel Model() => trained.Value.Model;
                var info = store.TryRead<TrainedModel>(TrainKey(run)) ?? trained.Value.Info;
                var quick = Measure($"{run.Id}.quick", () => Evaluator(QuickAttacks(), config.Epsilons, amplification: config.KeyEpsilons.Max(), masking: true)
                    .Evaluate(Model(), test, cancellationToken: cancellationToken));
                RobustnessReport? transfer = null, strong = null, squeezed = null, deployed = null;
                // Result keys carry a version: results stored by an older suite (early-stopped transfer, no cascade) are not reused.
                if (NeedsTransfer(run))
                    transfer = Measure($"{run.Id}.transfer-v2", () => Evaluator(TransferEntries(substitutes.Value), config.KeyEpsilons)
                        .Evaluate(Model(), test, cancellationToken: cancellationToken));
                if (NeedsStrong(run))
                {
                    // The strong suite in cascade, on what ships (the int8 ONNX export: ONNX Runtime judges, its twin gives
                    // gradients; the claims use this) and, for a few models, on the float model beside it.
                    deployed = Measure($"{run.Id}.deployed-v2", () =>
                    {
                        using var export = DeployedModel.FromBytes(OnnxExporter.ToBytes(Model()));
                        return Evaluator(StrongAttacks(Model().Spec.IsQuantized, substitutes.Value), config.KeyEpsilons, cascade: true)
                            .Evaluate(export, test, cancellationToken: cancellationToken);
                    });
                    if (IsHeadlineModel(run))
                        strong = Measure($"{run.Id}.strong-v2", () => Evaluator(StrongAttacks(Model().Spec.IsQuantized, substitutes.Value), config.KeyEpsilons, cascade: true)
                            .Evaluate(Model(), test, cancellationToken: cancellationToken));
                }
                if (IsHeadlineModel(run))
                    squeezed = Measure($"{run.Id}.squeezed", () => Evaluator(AttackSuites.Quick(config.PgdSteps), config.KeyEpsilons)
                        .Evaluate(new InputSqueezing(new TorchClassifier(Model()), bitDepth: config.SqueezeBitDepth), test, cancellationToken: cancellationToken));
                results.Add(new ModelResults(info, quick, strong, transfer, squeezed, deployed));
            }
            return new StudyResults(config, results, clock.Elapsed);
        }
        finally
        {
            foreach (var (model, _) in models.Values) model.Dispose();
        }
    }

    /// <summary>
    /// Measures once, on the deployed exports of DQ-4 and VQ-2 (trained, or resumed from their checkpoints), how far the
    /// light suite's worst case lies above the AutoAttack suite's, and how VQ-2's worst case moves with Square's budget
    /// (300, 1,000, 5,000 queries). Returns a Markdown section with the machine and command.
    /// </summary>
    public string CompareSuites(CancellationToken cancellationToken)
    {
        clock.Start();
        using var train = ReproductionProfile.Load(config, DatasetSplit.Train, options.DataDirectory, log, cancellationToken);
        using var test = ReproductionProfile.Load(config, DatasetSplit.Test, options.DataDirectory, log, cancellationToken);
        var plan = Plan();
        var md = new System.Text.StringBuilder();
        var inv = System.Globalization.CultureInfo.InvariantCulture;
        string Pct(double? v) => v is double x ? (100 * x).ToString("F1", inv) + " %" : "–";
        string Eps(double e) => e.ToString("0.####", inv);
        md.AppendLine($"## Suite comparison ({config.Name}, deployed ONNX exports judged by ONNX Runtime)").AppendLine();
        md.AppendLine($"Command: `dotnet run -c Release --project samples/PaperReproduction -- --profile {options.Profile} --compare-suites`; " +
                      $"{Environment.ProcessorCount} logical CPUs ({System.Runtime.InteropServices.RuntimeInformation.OSDescription}), {options.Threads} threads, " +
                      $"seed {options.Seed}, first {config.EvalLimit} test images. Another CPU gives numbers a few tenths of a point apart.").AppendLine();
        md.AppendLine("| model | suite | " + string.Join(" | ", config.KeyEpsilons.Select(e => $"ε = {Eps(e)}")) + " |");
        md.AppendLine("|---|---|" + string.Concat(config.KeyEpsilons.Select(_ => "--:|")));
        foreach (var id in new[] { RunIds.Dq(4), RunIds.Vq(2) })
        {
            var run = plan.FirstOrDefault(r => r.Id == id)
                ?? throw new InvalidOperationException($"The study '{config.Name}' has no run '{id}' (its bit widths: {string.Join(", ", config.Bits)}).");
            var (model, _) = Train(run, train, test, cancellationToken);
            using var export = DeployedModel.FromBytes(OnnxExporter.ToBytes(model));
            bool q = model.Spec.IsQuantized;
            var suites = new List<(string Name, IReadOnlyList<AttackEntry> Attacks)>
            {
                ($"light (Square {config.SquareQueries})", AttackSuites.Light(q, config.PgdSteps, config.SquareQueries)),
                ("AutoAttack", AttackSuites.AutoAttack(q, proxySteps: config.PgdSteps)),
            };
            if (id == RunIds.Vq(2))
                foreach (int queries in new[] { 300, 1000, 5000 })
                    suites.Add(($"light, Square {queries}", AttackSuites.Light(q, config.PgdSteps, queries)));
            foreach (var (name, attacks) in suites)
            {
                var report = Measure($"{id}.compare.{new string(name.Where(char.IsLetterOrDigit).ToArray())}",
                    () => Evaluator(attacks, config.KeyEpsilons, cascade: true).Evaluate(export, test, cancellationToken: cancellationToken));
                md.AppendLine($"| {run.Label} | {name} | " + string.Join(" | ", config.KeyEpsilons.Select(e =>
                    $"{Pct(report.WorstCaseAccuracy(e))} ({report.WorstCase.First(w => Math.Abs(w.Epsilon - e) < 1e-12).Label})")) + " |");
            }
        }
        md.AppendLine();
        foreach (var (model, _) in models.Values) model.Dispose();
        return md.ToString();
    }

    /// <summary>Every model of the study, in the order they are trained.</summary>
    public IReadOnlyList<RunDefinition> Plan()
    {
        var baseTrainer = config.Trainer with { Seed = options.Seed, Threads = options.Threads, Device = options.Device };
        var runs = new List<RunDefinition>
        {
            new(RunIds.Substitute, "FP (seed + 1)", config.BaseSpec with { Mode = TrainingMode.FullPrecision }, baseTrainer with { Seed = options.Seed + 1 }, config.TrainLimit),
            new(RunIds.SubstituteVq, $"VQ-{config.AdversarialBits} (seed + 1)", config.BaseSpec with { Mode = TrainingMode.Vanilla, ActivationBits = config.AdversarialBits },
                baseTrainer with { Seed = options.Seed + 1 }, config.TrainLimit),
            new(RunIds.Fp, "FP", config.BaseSpec with { Mode = TrainingMode.FullPrecision }, baseTrainer, config.TrainLimit),
        };
        foreach (int k in config.Bits)
        {
            runs.Add(new(RunIds.Vq(k), RunIds.Label("VQ", k), config.BaseSpec with { Mode = TrainingMode.Vanilla, ActivationBits = k }, baseTrainer, config.TrainLimit));
            runs.Add(new(RunIds.Dq(k), RunIds.Label("DQ", k), config.BaseSpec with { Mode = TrainingMode.Defensive, ActivationBits = k },
                baseTrainer with { Beta = config.Beta }, config.TrainLimit));
        }
        foreach (double beta in config.BetaSweep.Where(b => b != config.Beta))
            runs.Add(new(RunIds.DqBeta(config.BetaSweepBits, beta), $"DQ-{config.BetaSweepBits} β={beta:0.#####}",
                config.BaseSpec with { Mode = TrainingMode.Defensive, ActivationBits = config.BetaSweepBits }, baseTrainer with { Beta = beta }, config.TrainLimit));

        if (config.StochasticProbes is int probes)
            runs.Add(new(RunIds.Stochastic(config.BetaSweepBits), $"DQ-{config.BetaSweepBits} stochastic ({probes} probes)",
                config.BaseSpec with { Mode = TrainingMode.Defensive, ActivationBits = config.BetaSweepBits },
                baseTrainer with { Beta = config.Beta, Lipschitz = new LipschitzOptions { Probes = probes } }, config.TrainLimit));

        int a = config.AdversarialBits;
        var adversarial = baseTrainer with { Adversarial = config.AdversarialTraining };
        runs.Add(new(RunIds.Adversarial(RunIds.Fp), "FP + AT", config.BaseSpec with { Mode = TrainingMode.FullPrecision }, adversarial, config.TrainLimit));
        runs.Add(new(RunIds.Adversarial(RunIds.Vq(a)), $"VQ-{a} + AT", config.BaseSpec with { Mode = TrainingMode.Vanilla, ActivationBits = a }, adversarial, config.TrainLimit));
        runs.Add(new(RunIds.Adversarial(RunIds.Dq(a)), $"DQ-{a} + AT", config.BaseSpec with { Mode = TrainingMode.Defensive, ActivationBits = a },
            adversarial with { Beta = config.Beta }, config.TrainLimit));

        if (config.DeepSpec is { } deep)
        {
            var deepTrainer = (config.DeepTrainer ?? config.Trainer) with { Seed = options.Seed, Threads = options.Threads, Device = options.Device };
            string arch = $"VGG-{deep.Depth}×{deep.WidthFactor:0.##}";
            runs.Add(new(RunIds.Deep(RunIds.Fp), $"{arch} FP", deep with { Mode = TrainingMode.FullPrecision }, deepTrainer, config.DeepTrainLimit));
            runs.Add(new(RunIds.Deep(RunIds.Vq(a)), $"{arch} VQ-{a}", deep with { Mode = TrainingMode.Vanilla, ActivationBits = a }, deepTrainer, config.DeepTrainLimit));
            runs.Add(new(RunIds.Deep(RunIds.Dq(a)), $"{arch} DQ-{a}", deep with { Mode = TrainingMode.Defensive, ActivationBits = a },
                deepTrainer with { Beta = config.Beta }, config.DeepTrainLimit));
        }
        return runs;
    }

    private static string TrainKey(RunDefinition run) => $"{run.Id}.train";

    private bool IsBitSweep(RunDefinition run) =>
        run.Id == RunIds.Fp || config.Bits.Any(k => run.Id == RunIds.Vq(k) || run.Id == RunIds.Dq(k));

    private bool NeedsTransfer(RunDefinition run) =>
        IsBitSweep(run) || run.Id.StartsWith("at-", StringComparison.Ordinal) || run.Id == RunIds.Stochastic(config.BetaSweepBits);

    /// <summary>
    /// The strong suite runs at every bit width and on the adversarially trained models: every claim is judged on a
    /// worst case, never on a single gradient attack (which only bounds robust accuracy from above).
    /// </summary>
    private bool NeedsStrong(RunDefinition run) => IsBitSweep(run) || run.Id.StartsWith("at-", StringComparison.Ordinal);

    /// <summary>
    /// FP and the two models at the adversarial bit width: the only ones that also get the strong suite on the float
    /// TorchSharp model (enough to show how far its worst case lies from the deployed export's, at half the compute of
    /// running it everywhere; claims use the deployed worst case alone) and the input-squeezing comparison.
    /// </summary>
    private bool IsHeadlineModel(RunDefinition run)
    {
        int a = config.AdversarialBits;
        return run.Id == RunIds.Fp || run.Id == RunIds.Vq(a) || run.Id == RunIds.Dq(a);
    }

    private (DqModel Model, TrainedModel Info) Train(RunDefinition run, ImageDataset train, ImageDataset test, CancellationToken cancellationToken)
    {
        if (models.TryGetValue(run.Id, out var cached)) return cached;
        using var subset = run.TrainLimit is int limit && limit < train.Count ? train.Take(limit) : null;
        var data = subset ?? train;
        var trainer = new DqTrainer(run.Spec, run.Trainer with { CheckpointDirectory = store.CheckpointDirectory(run.Id) });
        var watch = Stopwatch.StartNew();
        // A finished run resumes from its last checkpoint without training; its timing comes from the stored record.
        var model = trainer.Fit(data, cancellationToken: cancellationToken).Model;
        watch.Stop();
        var info = store.GetOrCompute(TrainKey(run), () => new TrainedModel
        {
            Id = run.Id, Label = run.Label, Family = run.Family, Bits = run.Spec.IsQuantized ? run.Spec.ActivationBits : null,
            Beta = run.Trainer.Beta, AdversariallyTrained = run.Trainer.Adversarial is not null,
            Architecture = RobustnessEvaluator.Describe(run.Spec), TrainImages = data.Count, TestImages = test.Count, Epochs = run.Trainer.Epochs,
            TrainSeconds = watch.Elapsed.TotalSeconds, CleanAccuracy = ModelScoring.Accuracy(model, test),
            Orthogonality = model.WeightLayers.Sum(l => (double)LipschitzRegularizer.OrthogonalityPenalty(l.Weight).item<float>()),
        });
        Log($"{run.Label}: clean accuracy {info.CleanAccuracy:P2}, trained in {info.TrainSeconds:F0} s" +
            (watch.Elapsed.TotalSeconds < 0.5 * info.TrainSeconds ? " (restored from its checkpoint)" : ""));
        models[run.Id] = (model, info);
        return (model, info);
    }

    private RobustnessReport Measure(string key, Func<RobustnessReport> evaluate)
    {
        bool stored = store.Has(key);
        var watch = Stopwatch.StartNew();
        var report = store.GetOrCompute(key, evaluate, Log);
        if (!stored) Log($"{key}: measured in {watch.Elapsed.TotalSeconds:F0} s");
        return report;
    }

    private RobustnessEvaluator Evaluator(IReadOnlyList<AttackEntry> attacks, IReadOnlyList<double> epsilons, double? amplification = null, bool masking = false,
        bool cascade = false) =>
        new(new RobustnessOptions
        {
            Attacks = attacks, Epsilons = epsilons, Limit = config.EvalLimit, Seed = options.Seed,
            AmplificationEpsilon = amplification, MaskingChecks = masking, Cascade = cascade,
        });

    /// <summary>The paper's attacks: FGSM, R+FGSM, BIM and PGD.</summary>
    private IReadOnlyList<AttackEntry> QuickAttacks() => new[]
    {
        AttackEntry.Named("FGSM"), AttackEntry.Named("R+FGSM"), AttackEntry.Named("BIM"), AttackEntry.Named("PGD", config.PgdSteps),
    };

    /// <summary>
    /// PGD crafted on each substitute (another seed) and replayed on the target. The transfer attack crafts for all
    /// steps (no early stop on the substitute), so the examples are as strong on the substitute as PGD makes them.
    /// </summary>
    private IReadOnlyList<AttackEntry> TransferEntries(IReadOnlyList<(DqModel Model, string Family)> substitutes) =>
        substitutes.Select(s => new AttackEntry(TransferName(s.Family),
            e => new TransferAttack(new Pgd(e, config.PgdSteps), new TorchClassifier(s.Model), $"{s.Family} (seed + 1)"))).ToList();

    /// <summary>Report name of the transfer attack from a substitute of <paramref name="family"/> ("FP", "VQ-4").</summary>
    internal string TransferName(string family) => TransferNames.Of(config.PgdSteps, family);

    /// <summary>
    /// Every attack at the key ε in cascade order (cheap first), so the per-image worst case covers all of them: the
    /// paper's attacks, the transfer attacks, then the strong suite (APGD, Square, surrogate-gradient PGD).
    /// </summary>
    private IReadOnlyList<AttackEntry> StrongAttacks(bool quantized, IReadOnlyList<(DqModel Model, string Family)> substitutes)
    {
        var suite = AttackSuites.AutoAttack(quantized, proxySteps: config.PgdSteps);
        return QuickAttacks().Concat(TransferEntries(substitutes)).Concat(suite).ToList();
    }

    private void Log(string message) => log.WriteLine($"[{clock.Elapsed:hh\\:mm\\:ss}] {message}");
}
