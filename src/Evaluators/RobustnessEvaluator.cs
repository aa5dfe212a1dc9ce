using System.Diagnostics;
using DqMlNet.Attacks;
using DqMlNet.Data;
using DqMlNet.Lipschitz;
using DqMlNet.Models;
using DqMlNet.Quantization;
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
        Runtime.MallocTuning.Apply(); // attacks re-allocate batch-sized buffers every step, like training
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
        return Run(deployed.Classifier, deployed.ProxyClassifier, deployed.Replica, data, Options.ModelDescription ?? Describe(deployed.Spec),
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
        string artifact = classifier switch
        {
            DeployedClassifier => RobustnessReport.DeployedExport,
            TorchClassifier => RobustnessReport.FloatModel,
            Transforms.Onnx.OnnxClassifier => ScoreOnlyOnnx,
            _ => $"classifier {classifier.GetType().Name}",
        };
        return Run(classifier, classifier, null, data, Options.ModelDescription ?? classifier.GetType().Name, artifact, progress, cancellationToken);
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
        int n = Math.Min(Options.Limit ?? data.Count, data.Count);
        var x = data.Images.narrow(0, 0, n);
        var y = data.Labels.narrow(0, 0, n);
        var warnings = new List<string>();
        var attacks = Options.Attacks.Where(a => main.HasGradients || !a.Create(0.1).NeedsGradients).ToList();
        foreach (var skipped in Options.Attacks.Except(attacks))
            warnings.Add($"{skipped.Name} skipped: it needs gradients and the classifier is a black box.");
        if (!main.HasGradients) warnings.Add(ScoreOnlyWarning);
        var epsilons = Options.Epsilons.Distinct().OrderBy(e => e).ToList();
        int batches = (n + Options.BatchSize - 1) / Options.BatchSize;
        int totalSteps = batches * (1 + attacks.Count * epsilons.Count);
        int done = 0;

        var clean = Predict(main, x, Options.BatchSize, cancellationToken);
        var labels = y.data<long>().ToArray();
        var rows = Enumerable.Range(0, n).Select(i => (long)i).ToArray(); // global row index of every evaluated image
        var cleanCorrect = clean.Select((p, i) => p == labels[i]).ToArray();
        done += batches;
        progress?.Report(new EvaluationProgress("clean", null, done, totalSteps));

        var results = new List<AttackResult>();
        var robust = new Dictionary<(string, double), bool[]>();
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
                AttackResult result;
                bool[] correct;
                if (Options.Cascade && a > 0)
                    (result, correct) = RunOnSurvivors(entry, attack, target, main, x, y, labels, rows, alive, cancellationToken, Tick, batches);
                else
                    (result, correct) = RunAttack(entry, attack, target, main, x, y, labels, rows, cleanCorrect, cancellationToken, Tick);
                if (Options.Cascade) result = result with { Cumulative = true };
                results.Add(result);
                robust[(entry.Name, epsilon)] = correct;
                alive = correct;
            }
        }

        var worst = epsilons.Select(e =>
        {
            var names = attacks.Select(a => a.Name).ToList();
            int count = Enumerable.Range(0, n).Count(i => cleanCorrect[i] && names.All(a => robust[(a, e)][i]));
            // Gradient attacks alone only bound robust accuracy from above: masked gradients hide adversarial examples
            // that a score-based search (Square) still finds. Only a suite with one may call its minimum a worst case.
            var bound = attacks.Any(a => IsScoreBased(a.Create(e))) ? RobustBound.WorstCase : RobustBound.UpperBound;
            return new WorstCaseResult(e, (double)count / n, names, bound);
        }).ToList();

        IReadOnlyList<LayerResult> layers = Array.Empty<LayerResult>();
        IReadOnlyList<SpectralNormResult> spectral = Array.Empty<SpectralNormResult>();
        double? product = null;
        if (model is not null)
        {
            if (Options.AmplificationEpsilon is double ampEps)
            {
                progress?.Report(new EvaluationProgress("amplification", ampEps, done, totalSteps));
                layers = ErrorAmplification.Measure(model, x, y, ampEps, Options.BatchSize, Options.Seed);
            }
            var report = SpectralNorm.Measure(model);
            spectral = report.Layers.Select(l => new SpectralNormResult(l.Layer, l.Norm, l.ReshapedKernelNorm)).ToList();
            product = report.Product;
        }

        if (Options.MaskingChecks)
        {
            progress?.Report(new EvaluationProgress("masking checks", epsilons[^1], done, totalSteps));
            warnings.AddRange(MaskingChecks.Run(main, x, y, cleanCorrect, results, epsilons, Options, cancellationToken));
        }

        return new RobustnessReport
        {
            Model = description,
            Artifact = artifact,
            ThreatModel = "Linf (L2 where an attack says so), pixels in [0, 1], normalisation inside the model",
            N = n,
            Seed = Options.Seed,
            CleanAccuracy = (double)cleanCorrect.Count(c => c) / n,
            Attacks = results,
            WorstCase = worst,
            Layers = layers,
            SpectralNorms = spectral,
            SpectralNormProduct = product,
            AmplificationEpsilon = model is null ? null : Options.AmplificationEpsilon,
            Warnings = warnings,
        };
    }

    /// <summary>
    /// Cascade step: attacks only the images in <paramref name="alive"/> and maps the outcome back to all n images
    /// (those already fooled stay fooled). Norms and queries average over the attacked images.
    /// </summary>
    private (AttackResult Result, bool[] RobustCorrect) RunOnSurvivors(AttackEntry entry, Attack attack, IClassifier attacked, IClassifier judge,
        Tensor x, Tensor y, long[] labels, long[] rows, bool[] alive, CancellationToken cancellationToken, Action onBatch, int batches)
    {
        int n = labels.Length;
        var survivors = Enumerable.Range(0, n).Where(i => alive[i]).ToArray();
        var correct = new bool[n];
        AttackResult result;
        if (survivors.Length == 0)
        {
            result = new AttackResult
            {
                Name = entry.Name, Settings = attack.Describe() + "; nothing left to attack", Epsilon = attack.Epsilon,
                Norm = attack.Norm == AttackNorm.LInf ? "Linf" : "L2", SuccessRate = 0,
            };
        }
        else
        {
            using var scope = NewDisposeScope();
            var index = tensor(survivors.Select(i => (long)i).ToArray());
            var (sub, subCorrect) = RunAttack(entry, attack, attacked, judge, x.index_select(0, index), y.index_select(0, index),
                survivors.Select(i => labels[i]).ToArray(), survivors.Select(i => rows[i]).ToArray(), // survivors keep their global rows
                survivors.Select(_ => true).ToArray(), cancellationToken, () => { });
            for (int j = 0; j < survivors.Length; j++) correct[survivors[j]] = subCorrect[j];
            int robust = correct.Count(c => c);
            result = sub with
            {
                RobustAccuracy = (double)robust / n,
                SuccessRate = (double)(survivors.Length - robust) / survivors.Length,
            };
        }
        for (int b = 0; b < batches; b++) onBatch(); // progress counts the full run's batches
        return (result with { Attacked = survivors.Length }, correct);
    }

    private (AttackResult Result, bool[] RobustCorrect) RunAttack(AttackEntry entry, Attack attack, IClassifier attacked, IClassifier judge,
        Tensor x, Tensor y, long[] labels, long[] rows, bool[] cleanCorrect, CancellationToken cancellationToken, Action onBatch)
    {
        int n = labels.Length;
        var correct = new bool[n];
        double normSum = 0, normMax = 0;
        long querySum = 0;
        bool hasQueries = false;
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
            var output = attack.Perturb(attacked, xb, yb, null, batch, globalRows);
            var adversarial = output.Adversarial.cpu();
            Verify(attack, adversarial, xb);
            var norms = ThreatModel.PerturbationNorm(adversarial, xb, attack.Norm).data<double>().ToArray();
            normSum += norms.Sum();
            normMax = Math.Max(normMax, norms.Length == 0 ? 0 : norms.Max());
            if (output.Queries is { } q) { hasQueries = true; querySum += q.Sum(); }
            long[] predicted;
            using (judge.BeginAttack()) // the judge scores in eval mode (BatchNorm statistics, no dropout), like the attack
            using (no_grad())
                predicted = judge.Logits(adversarial.to(judge.Device)).argmax(1).cpu().data<long>().ToArray();
            for (int i = 0; i < count; i++) correct[start + i] = cleanCorrect[start + i] && predicted[i] == labels[start + i];
            onBatch();
        }
        clock.Stop();
        int robust = correct.Count(c => c), cleanCount = cleanCorrect.Count(c => c);
        var result = new AttackResult
        {
            Name = entry.Name,
            Settings = attack.Describe() + (entry.SmoothProxy ? "; " + SurrogateGradientNote : ""),
            Norm = attack.Norm == AttackNorm.LInf ? "Linf" : "L2",
            Epsilon = attack.Epsilon,
            RobustAccuracy = (double)robust / n,
            SuccessRate = cleanCount == 0 ? 0 : (double)(cleanCount - robust) / cleanCount,
            MeanPerturbation = normSum / n,
            MaxPerturbation = normMax,
            MeanQueries = hasQueries ? (double)querySum / n : null,
            Seconds = clock.Elapsed.TotalSeconds,
            Attacked = n,
        };
        return (result, correct);
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
