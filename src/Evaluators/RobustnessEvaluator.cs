using System.Diagnostics;
using DqMlNet.Attacks;
using DqMlNet.Data;
using DqMlNet.Lipschitz;
using DqMlNet.Models;
using DqMlNet.Quantization;
using DqMlNet.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace DqMlNet.Evaluators;

/// <summary>
/// Puts robustness next to accuracy: clean accuracy, then every attack of the suite at every ε (robust accuracy,
/// success rate, perturbation norms, queries, time), the per-example worst case per ε, per-layer error amplification
/// and spectral norms, and gradient-masking checks reported as warnings. Every adversarial example is verified to lie
/// in the ε-ball and in [0, 1]. The same seed gives the same numbers.
/// </summary>
public sealed class RobustnessEvaluator
{
    /// <summary>Creates an evaluator.</summary>
    public RobustnessEvaluator(RobustnessOptions? options = null)
    {
        Options = options ?? new RobustnessOptions();
        Options.Validate();
    }

    /// <summary>What is run.</summary>
    public RobustnessOptions Options { get; }

    /// <summary>
    /// Evaluates the float TorchSharp model (white-box, with smooth-proxy attacks for quantized models, layers and
    /// spectral norms). The numbers describe <see cref="RobustnessReport.FloatModel"/>, not its int8 export: evaluate a
    /// <see cref="DeployedModel"/> for what ships.
    /// </summary>
    public RobustnessReport Evaluate(DqModel model, ImageDataset data, IProgress<EvaluationProgress>? progress = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(model);
        using var placement = OnDevice(model);
        var main = new TorchClassifier(model);
        var proxy = model.Spec.IsQuantized ? new TorchClassifier(model, QuantizerGradient.SmoothProxy) : main;
        return Run(main, proxy, model, data, Options.ModelDescription ?? Describe(model.Spec), RobustnessReport.FloatModel, progress, cancellationToken);
    }

    /// <summary>
    /// Evaluates a deployed ONNX export (<see cref="RobustnessReport.DeployedExport"/>): every candidate is scored and
    /// every verdict given by its ONNX Runtime session; every gradient comes from its differentiable twin (straight-through,
    /// or the smooth proxy for proxy attacks); layers and spectral norms are the twin's, i.e. the file's weights.
    /// </summary>
    public RobustnessReport Evaluate(DeployedModel deployed, ImageDataset data, IProgress<EvaluationProgress>? progress = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(deployed);
        using var placement = OnDevice(deployed.Replica);
        // The ONNX Runtime session judges on the CPU; the twin that gives the gradients runs on Options.Device.
        var main = placement.Moved ? new DeployedClassifier(deployed.Session, deployed.Replica) : deployed.Classifier;
        var proxy = !placement.Moved ? deployed.ProxyClassifier
            : deployed.Spec.IsQuantized ? new DeployedClassifier(deployed.Session, deployed.Replica, QuantizerGradient.SmoothProxy) : main;
        return Run(main, proxy, deployed.Replica, data, Options.ModelDescription ?? Describe(deployed.Spec),
            RobustnessReport.DeployedExport, progress, cancellationToken);
    }

    /// <summary>
    /// Evaluates any classifier. Without gradients (a score-only <see cref="Transforms.Onnx.OnnxClassifier"/>), only
    /// score-based and transfer attacks run; gradient attacks in the suite are reported as skipped in the warnings, and a
    /// warning says that no gradient attack ran. For a DqMlNet export, evaluate its <see cref="DeployedModel"/> instead:
    /// the same verdicts, plus white-box attacks through its differentiable twin.
    /// </summary>
    public RobustnessReport Evaluate(IClassifier classifier, ImageDataset data, IProgress<EvaluationProgress>? progress = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(classifier);
        if (Options.Device is not null && !SameDevice(TorchRuntime.ParseDevice(Options.Device), classifier.Device))
            throw new ArgumentException(
                $"RobustnessOptions.Device is '{Options.Device}' but the classifier runs on '{classifier.Device}': a classifier is evaluated where it " +
                "is; leave Device unset, or evaluate the DqModel / DeployedModel, which the evaluator moves to Device.", nameof(classifier));
        string artifact = classifier switch
        {
            DeployedClassifier => RobustnessReport.DeployedExport,
            TorchClassifier => RobustnessReport.FloatModel,
            Transforms.Onnx.OnnxClassifier => ScoreOnlyOnnx,
            _ => $"classifier {classifier.GetType().Name}",
        };
        return Run(classifier, classifier, null, data, Options.ModelDescription ?? classifier.GetType().Name, artifact, progress, cancellationToken);
    }

    /// <summary>
    /// Moves <paramref name="model"/> to <see cref="RobustnessOptions.Device"/> for one evaluation and back when disposed;
    /// nothing moves when Device is unset or already the model's.
    /// </summary>
    private DevicePlacement OnDevice(DqModel model)
    {
        var current = model.parameters().First().device;
        if (Options.Device is null) return new DevicePlacement(model, current, false);
        var wanted = TorchRuntime.ParseDevice(Options.Device);
        if (SameDevice(wanted, current)) return new DevicePlacement(model, current, false);
        model.to(wanted);
        return new DevicePlacement(model, current, true);
    }

    private static bool SameDevice(Device a, Device b) => a.type == b.type && Math.Max(a.index, 0) == Math.Max(b.index, 0);

    private sealed class DevicePlacement(DqModel model, Device original, bool moved) : IDisposable
    {
        public bool Moved { get; } = moved;

        public void Dispose()
        {
            if (Moved) model.to(original);
        }
    }

    /// <summary>"SmallCnn DQ-4 (β …)"-style description of a spec.</summary>
    public static string Describe(ModelSpec spec) =>
        $"{spec.Architecture} {(spec.Mode switch { TrainingMode.FullPrecision => "FP", TrainingMode.Vanilla => $"VQ-{spec.ActivationBits}", _ => $"DQ-{spec.ActivationBits}" })}" +
        (spec.WeightBits is int wb ? $" (weights {wb}-bit)" : "") + $", input {spec.Channels}×{spec.Height}×{spec.Width}, {spec.NumClasses} classes";

    private RobustnessReport Run(IClassifier main, IClassifier proxy, DqModel? model, ImageDataset data, string description, string artifact,
        IProgress<EvaluationProgress>? progress, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(data);
        if (data.Channels != main.InputShape[0] || data.Height != main.InputShape[1] || data.Width != main.InputShape[2])
            throw new ArgumentException(
                $"The evaluation images are {data.Channels}×{data.Height}×{data.Width} but the model expects " +
                $"{string.Join("×", main.InputShape)}.", nameof(data));
        using var scope = NewDisposeScope();
        int total = Math.Min(Options.Limit ?? data.Count, data.Count);
        // The rows this process evaluates, by global index in the limit-capped data: all of them, or one shard's.
        var rows = Options.Shard is { } shard ? shard.Rows(total) : Enumerable.Range(0, total).Select(i => (long)i).ToArray();
        bool firstShard = Options.Shard is not { Index: > 0 }; // the whole run, or shard 0: computes the model-level parts
        Tensor x, y;
        if (Options.Shard is null)
        {
            x = data.Images.narrow(0, 0, total);
            y = data.Labels.narrow(0, 0, total);
        }
        else
        {
            var index = tensor(rows);
            x = data.Images.index_select(0, index);
            y = data.Labels.index_select(0, index);
        }
        int n = rows.Length;
        var attacks = Options.Attacks.Where(a => main.HasGradients || !a.Create(0.1).NeedsGradients).ToList();
        var epsilons = Options.Epsilons.Distinct().OrderBy(e => e).ToList();
        var suite = new EvaluationSuite
        {
            Attacks = attacks.Select(entry =>
            {
                var probe = entry.Create(epsilons[0]);
                return new SuiteAttack
                {
                    Name = entry.Name,
                    Settings = epsilons.Select(e => entry.Create(e).Describe() + (entry.SmoothProxy ? "; " + SurrogateGradientNote : "")).ToList(),
                    Norm = NormName(probe.Norm),
                    ScoreBased = IsScoreBased(probe),
                };
            }).ToList(),
            Skipped = Options.Attacks.Except(attacks).Select(a => a.Name).ToList(),
            ScoreOnly = !main.HasGradients,
            Epsilons = epsilons,
            Cascade = Options.Cascade,
            AmplificationEpsilon = model is null ? null : Options.AmplificationEpsilon,
            MaskingChecks = Options.MaskingChecks,
            MaskingSubset = Options.MaskingSubset,
            MaskingTolerance = Options.MaskingTolerance,
        };
        int batches = (n + Options.BatchSize - 1) / Options.BatchSize;
        int totalSteps = batches * (1 + attacks.Count * epsilons.Count);
        int done = 0;

        var clean = Predict(main, x, Options.BatchSize, cancellationToken);
        var labels = y.data<long>().ToArray();
        var cleanCorrect = clean.Select((p, i) => p == labels[i]).ToArray();
        done += batches;
        progress?.Report(new EvaluationProgress("clean", null, done, totalSteps));

        var perImage = new List<ImageAttackResults>();
        var seconds = new List<double>();
        foreach (double epsilon in epsilons)
        {
            var alive = cleanCorrect; // images no attack at this ε has fooled yet (cascade only)
            for (int a = 0; a < attacks.Count; a++)
            {
                var entry = attacks[a];
                var attack = entry.Create(epsilon);
                attack.Seed = Options.Seed;
                var target = entry.SmoothProxy ? proxy : main;
                void Tick() => progress?.Report(new EvaluationProgress(entry.Name, epsilon, ++done, totalSteps));
                var outcome = Options.Cascade && a > 0
                    ? RunOnSurvivors(attack, target, main, x, y, labels, rows, alive, cancellationToken, Tick, batches)
                    : RunAttack(attack, target, main, x, y, labels, rows, cleanCorrect, cancellationToken, Tick);
                perImage.Add(new ImageAttackResults
                {
                    Name = entry.Name, Epsilon = epsilon, Correct = new string(outcome.Correct), Perturbation = outcome.Norms, Queries = outcome.Queries,
                });
                seconds.Add(outcome.Seconds);
                alive = outcome.Correct.Select(c => c == '1').ToArray();
            }
        }

        IReadOnlyList<ImageLayerResults> amplification = Array.Empty<ImageLayerResults>();
        IReadOnlyList<SpectralNormResult> spectral = Array.Empty<SpectralNormResult>();
        double? product = null;
        if (model is not null)
        {
            if (Options.AmplificationEpsilon is double ampEps)
            {
                progress?.Report(new EvaluationProgress("amplification", ampEps, done, totalSteps));
                amplification = ErrorAmplification.PerImage(model, x, y, ampEps, Options.BatchSize, Options.Seed);
            }
            if (firstShard)
            {
                var report = SpectralNorm.Measure(model);
                spectral = report.Layers.Select(l => new SpectralNormResult(l.Layer, l.Norm, l.ReshapedKernelNorm)).ToList();
                product = report.Product;
            }
        }

        IReadOnlyList<string>? probeWarnings = null;
        if (Options.MaskingChecks && firstShard)
        {
            // The probes always use the first rows of the whole evaluation, whichever rows this shard holds.
            progress?.Report(new EvaluationProgress("masking checks", epsilons[^1], done, totalSteps));
            int m = Math.Min(Options.MaskingSubset, total);
            probeWarnings = MaskingChecks.Probes(main, data.Images.narrow(0, 0, m), data.Labels.narrow(0, 0, m), epsilons, Options, cancellationToken);
        }

        var images = new ImageResults
        {
            Rows = rows,
            CleanCorrect = new string(cleanCorrect.Select(c => c ? '1' : '0').ToArray()),
            Attacks = perImage,
            Amplification = amplification,
        };
        var header = new ReportAssembly.Header(description, artifact, ThreatModelDescription, Options.Seed);
        var assembled = ReportAssembly.Assemble(header, suite, images, seconds, spectral, product, probeWarnings);
        return Options.Shard is { } part
            ? assembled with
            {
                Shard = new ShardSection
                {
                    Index = part.Index, Count = part.Count, Layout = part.Layout, TotalRows = total,
                    ProbeWarnings = Options.MaskingChecks && firstShard ? probeWarnings : null,
                },
            }
            : assembled;
    }

    /// <summary>The threat model every report of this evaluator states.</summary>
    internal const string ThreatModelDescription = "Linf (L2 where an attack says so), pixels in [0, 1], normalisation inside the model";

    private static string NormName(AttackNorm norm) => norm == AttackNorm.LInf ? "Linf" : "L2";

    /// <summary>Per-row outcome of one attack at one ε: '1' robust, '0' misclassified, '-' not attacked; norms and queries null where not attacked.</summary>
    private sealed record Outcome(char[] Correct, double?[] Norms, long?[]? Queries, double Seconds);

    /// <summary>
    /// Cascade step: attacks only the images in <paramref name="alive"/> and maps the outcome back to all rows (the others
    /// are "not attacked": fooled earlier, or wrong when clean).
    /// </summary>
    private Outcome RunOnSurvivors(Attack attack, IClassifier attacked, IClassifier judge, Tensor x, Tensor y, long[] labels, long[] rows,
        bool[] alive, CancellationToken cancellationToken, Action onBatch, int batches)
    {
        int n = labels.Length;
        var survivors = Enumerable.Range(0, n).Where(i => alive[i]).ToArray();
        var correct = Enumerable.Repeat('-', n).ToArray();
        var norms = new double?[n];
        long?[]? queries = null;
        double seconds = 0;
        if (survivors.Length > 0)
        {
            using var scope = NewDisposeScope();
            var index = tensor(survivors.Select(i => (long)i).ToArray());
            var sub = RunAttack(attack, attacked, judge, x.index_select(0, index), y.index_select(0, index),
                survivors.Select(i => labels[i]).ToArray(), survivors.Select(i => rows[i]).ToArray(), // survivors keep their global rows
                survivors.Select(_ => true).ToArray(), cancellationToken, () => { });
            if (sub.Queries is not null) queries = new long?[n];
            for (int j = 0; j < survivors.Length; j++)
            {
                correct[survivors[j]] = sub.Correct[j];
                norms[survivors[j]] = sub.Norms[j];
                if (queries is not null) queries[survivors[j]] = sub.Queries![j];
            }
            seconds = sub.Seconds;
        }
        for (int b = 0; b < batches; b++) onBatch(); // progress counts the full run's batches
        return new Outcome(correct, norms, queries, seconds);
    }

    private Outcome RunAttack(Attack attack, IClassifier attacked, IClassifier judge, Tensor x, Tensor y, long[] labels, long[] rows,
        bool[] cleanCorrect, CancellationToken cancellationToken, Action onBatch)
    {
        int n = labels.Length;
        var correct = new char[n];
        var norms = new double?[n];
        long?[]? queries = null;
        var clock = Stopwatch.StartNew();
        for (int start = 0, batch = 0; start < n; start += Options.BatchSize, batch++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            using var scope = NewDisposeScope();
            int count = Math.Min(Options.BatchSize, n - start);
            var xb = x.narrow(0, start, count);
            var yb = y.narrow(0, start, count);
            long[] globalRows = rows.AsSpan(start, count).ToArray(); // the images' indices in the evaluated set
            // Random choices follow the image, not its batch: a cascade or a shard draws the same randomness as the full run.
            var output = attack.Perturb(attacked, xb, yb, null, batch, globalRows, cancellationToken);
            var adversarial = output.Adversarial.cpu();
            Verify(attack, adversarial, xb);
            var batchNorms = ThreatModel.PerturbationNorm(adversarial, xb, attack.Norm).data<double>().ToArray();
            for (int i = 0; i < count; i++) norms[start + i] = batchNorms[i];
            if (output.Queries is { } q)
            {
                queries ??= new long?[n];
                for (int i = 0; i < count; i++) queries[start + i] = q[i];
            }
            long[] predicted;
            using (judge.BeginAttack()) // the judge scores in eval mode (BatchNorm statistics, no dropout), like the attack
            using (no_grad())
                predicted = judge.Logits(adversarial.to(judge.Device)).argmax(1).cpu().data<long>().ToArray();
            for (int i = 0; i < count; i++) correct[start + i] = cleanCorrect[start + i] && predicted[i] == labels[start + i] ? '1' : '0';
            onBatch();
        }
        clock.Stop();
        return new Outcome(correct, norms, queries, clock.Elapsed.TotalSeconds);
    }

    /// <summary>The <see cref="RobustnessReport.Artifact"/> of an ONNX file evaluated through its session alone.</summary>
    internal const string ScoreOnlyOnnx = "ONNX file as ONNX Runtime scores it, score-only (no gradients)";

    /// <summary>What a report of a classifier without gradients says about its minimum.</summary>
    internal const string ScoreOnlyWarning =
        "Score-only classifier: no gradient (white-box) attack could run, so every number here comes from score-based or " +
        "random attacks and is an upper bound on robust accuracy; a white-box evaluation of the same model may find more " +
        "adversarial examples.";

    /// <summary>What a proxy row's settings say about its gradients.</summary>
    internal const string SurrogateGradientNote =
        "surrogate-gradient attack: gradients through the un-quantized ReLU6 (smooth proxy), every candidate judged on the " +
        "quantized model (the straight-through gradient of the other attacks is this library's BPDA)";

    /// <summary>A score-based attack needs no gradient, so gradient masking cannot hide examples from it.</summary>
    internal static bool IsScoreBased(Attack attack) => attack is SquareAttack;

    /// <summary>Throws when an attack broke its threat model: the numbers would be meaningless.</summary>
    private static void Verify(Attack attack, Tensor adversarial, Tensor clean)
    {
        float min = adversarial.min().item<float>(), max = adversarial.max().item<float>();
        if (min < 0 || max > 1 || float.IsNaN(min) || float.IsNaN(max))
            throw new InvalidOperationException($"{attack.Name} produced pixels outside [0, 1] (range [{min}, {max}]).");
        double worst = ThreatModel.PerturbationNorm(adversarial, clean, attack.Norm).max().item<double>();
        if (worst > attack.Epsilon + 1e-6)
            throw new InvalidOperationException($"{attack.Name} exceeded its budget: ‖x' − x‖ = {worst} > ε = {attack.Epsilon}.");
    }

    internal static long[] Predict(IClassifier classifier, Tensor x, int batchSize, CancellationToken cancellationToken)
    {
        var result = new long[x.shape[0]];
        using var attackState = classifier.BeginAttack();
        using var noGrad = no_grad();
        for (long start = 0; start < x.shape[0]; start += batchSize)
        {
            cancellationToken.ThrowIfCancellationRequested();
            using var scope = NewDisposeScope();
            long count = Math.Min(batchSize, x.shape[0] - start);
            var predicted = classifier.Logits(x.narrow(0, start, count).to(classifier.Device)).argmax(1).cpu().data<long>().ToArray();
            predicted.CopyTo(result, start);
        }
        return result;
    }
}
