// Quickstart: trains SmallCnn on Fashion-MNIST as FP, VQ-4 and DQ-4, attacks all three with the same attacks and
// compares clean and robust accuracy, error amplification and spectral norms; exports each model to ONNX.
// Usage: dotnet run -c Release --project samples/Quickstart -- [--help for the options]
using System.Diagnostics;
using System.Globalization;
using System.Text;
using DqMlNet.Data;
using DqMlNet.Evaluators;
using DqMlNet.Lipschitz;
using DqMlNet.Models;
using DqMlNet.Samples.Quickstart;
using DqMlNet.Training;
using DqMlNet.Transforms.Onnx;

CultureInfo.DefaultThreadCurrentCulture = CultureInfo.InvariantCulture;
CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;
Console.OutputEncoding = Encoding.UTF8;
var options = QuickstartOptions.Parse(args);
if (options is null) return 2;

var ui = new ConsoleUi(options.Plain);
using var cancel = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    cancel.Cancel();
};
try
{
    return new Quickstart(options, ui).Run(cancel.Token);
}
catch (OperationCanceledException)
{
    ui.Error("cancelled.");
    return 130;
}
catch (Exception ex)
{
    ui.Error($"the quickstart failed: {ex.Message}");
    Console.Error.WriteLine(ex);
    return 1;
}

namespace DqMlNet.Samples.Quickstart
{
    /// <summary>One trained and evaluated model.</summary>
    internal sealed record ModelRun(string Name, string Label, ModelSpec Spec, double Beta)
    {
        public double CleanAccuracy { get; set; }
        public double Orthogonality { get; set; }
        public RobustnessReport? Report { get; set; }
        public double? OnnxAccuracy { get; set; }
        public double? OnnxAgreement { get; set; }
        public TimeSpan TrainTime { get; set; }
        public TimeSpan EvalTime { get; set; }
        public IReadOnlyList<string> Files { get; set; } = Array.Empty<string>();
    }

    /// <summary>The quickstart run.</summary>
    internal sealed class Quickstart(QuickstartOptions options, ConsoleUi ui)
    {
        private const double AmplificationEpsilon = 0.1;

        public int Run(CancellationToken cancellationToken)
        {
            Directory.CreateDirectory(options.Output);
            var output = Path.GetFullPath(options.Output);
            ui.Line($"DqMlNet quickstart — output: {output}");
            var total = Stopwatch.StartNew();
            var files = FashionMnist.EnsureAvailable(options.DataDirectory, log: Console.Out, cancellationToken: cancellationToken);
            using var train = files.Load(DatasetSplit.Train, FashionMnist.ClassNames, options.TrainLimit);
            using var test = files.Load(DatasetSplit.Test, FashionMnist.ClassNames, options.TestLimit);
            int evalCount = Math.Min(options.EvalLimit, test.Count);
            ui.Line($"Fashion-MNIST from {files.Source}: {train.Count} train images, {test.Count} test images " +
                    $"({evalCount} attacked), {options.Threads} threads");

            var baseSpec = new ModelSpec
            {
                Architecture = Architecture.SmallCnn, Channels = 1, Height = 28, Width = 28, NumClasses = 10,
                Mean = new[] { 0.286f }, Std = new[] { 0.353f },
            };
            var runs = new List<ModelRun>
            {
                new("fp", "FP", baseSpec with { Mode = TrainingMode.FullPrecision }, 0),
                new("vq4", "VQ-4", baseSpec with { Mode = TrainingMode.Vanilla, ActivationBits = 4 }, 0),
                new("dq4", "DQ-4", baseSpec with { Mode = TrainingMode.Defensive, ActivationBits = 4 }, options.Beta),
            };

            foreach (var run in runs)
            {
                ui.Heading($"{run.Label}: {RobustnessEvaluator.Describe(run.Spec)}{(run.Beta > 0 ? $", β = {run.Beta}" : "")}");
                var model = TrainModel(run, train, cancellationToken);
                try
                {
                    run.CleanAccuracy = ModelScoring.Accuracy(model, test);
                    run.Orthogonality = model.WeightLayers.Sum(l => LipschitzRegularizer.OrthogonalityPenalty(l.Weight).item<float>());
                    ui.Line($"{run.Label}: clean accuracy {run.CleanAccuracy:P2} ({test.Count} images), trained in {run.TrainTime.TotalSeconds:F0} s");
                    var written = new List<string>();
                    if (options.Onnx) written.Add(ExportOnnx(run, model, test, evalCount, output));
                    Evaluate(run, model, test, cancellationToken);
                    var jsonPath = Path.Combine(output, $"{run.Name}.robustness.json");
                    ReportWriter.WriteJson(run.Report!, jsonPath);
                    written.Add(jsonPath);
                    run.Files = written;
                    ui.Line($"{run.Label}: " + string.Join(", ", options.SuiteEpsilons.Select(e =>
                        $"PGD-{options.PgdSteps} {Percent(run.Report!.RobustAccuracy($"PGD-{options.PgdSteps}", e))} / worst case " +
                        $"{Percent(run.Report.WorstCaseAccuracy(e))} at ε = {e}")) + $" (evaluated in {run.EvalTime.TotalSeconds:F0} s)");
                }
                finally
                {
                    model.Dispose();
                }
            }

            var models = runs.Select(r => (r.Label, r.Report!)).ToList();
            var robustnessPng = Path.Combine(output, "robustness.png");
            ReportPlots.RobustAccuracyByModel(models, robustnessPng, attack: $"PGD-{options.PgdSteps}");
            var amplificationPng = Path.Combine(output, "error-amplification.png");
            ReportPlots.ErrorAmplification(models, amplificationPng);

            total.Stop();
            var table = SummaryTable.Build(runs, options, test.Count, evalCount);
            var summaryPath = Path.Combine(output, "summary.md");
            var summary = SummaryTable.Markdown(table, runs, options, files.Source, train.Count, test.Count, evalCount, total.Elapsed);
            AtomicFile.WriteAllBytes(summaryPath, Encoding.UTF8.GetBytes(summary));

            ui.Line();
            ui.Table($"FP vs VQ-4 vs DQ-4 — robust accuracy on {evalCount} test images (clean accuracy on {test.Count})", table.Header, table.Rows);
            foreach (var line in SummaryTable.Verdict(runs, options)) ui.Line(line);
            foreach (var run in runs)
                foreach (var warning in run.Report!.Warnings)
                    ui.Line($"warning ({run.Label}): {warning}");
            ui.Line();
            ui.Line("wrote " + string.Join(", ", runs.SelectMany(r => r.Files).Append(robustnessPng).Append(amplificationPng).Append(summaryPath)
                .Select(p => Path.GetRelativePath(output, p))) + $" to {output}");
            ui.Line($"done in {total.Elapsed.TotalMinutes:F1} min");
            return 0;
        }

        private DqModel TrainModel(ModelRun run, ImageDataset train, CancellationToken cancellationToken)
        {
            var trainerOptions = new DqTrainerOptions
            {
                Epochs = options.Epochs, BatchSize = 128, LearningRate = options.LearningRate, Beta = run.Beta, Seed = options.Seed,
                Threads = options.Threads,
            };
            var clock = Stopwatch.StartNew();
            var result = ui.Stage($"{run.Label} train", update =>
                new DqTrainer(run.Spec, trainerOptions).Fit(train, progress: new TrainingReporter(update), cancellationToken: cancellationToken));
            run.TrainTime = clock.Elapsed;
            return result.Model;
        }

        private string ExportOnnx(ModelRun run, DqModel model, ImageDataset test, int evalCount, string output)
        {
            var path = Path.Combine(output, $"{run.Name}.onnx");
            OnnxExporter.Export(model, path, new OnnxExportOptions
            {
                Beta = run.Beta > 0 ? run.Beta : null,
                ClassNames = FashionMnist.ClassNames,
            });
            // Score the exported file with ONNX Runtime on the attacked subset: the graph must agree with the trained model.
            using var subset = test.Take(evalCount);
            using var onnx = new OnnxClassifier(path);
            var onnxLabels = onnx.PredictLabels(subset.Images);
            var torchLabels = ModelScoring.Predict(model, subset.Images);
            var labels = subset.Labels.data<long>().ToArray();
            run.OnnxAccuracy = (double)onnxLabels.Where((p, i) => p == labels[i]).Count() / evalCount;
            run.OnnxAgreement = (double)onnxLabels.Where((p, i) => p == torchLabels[i]).Count() / evalCount;
            ui.Line($"{run.Label}: exported {Path.GetFileName(path)} (ONNX Runtime accuracy {run.OnnxAccuracy:P1} on {evalCount} images, " +
                    $"{run.OnnxAgreement:P1} agreement with TorchSharp)");
            return path;
        }

        private void Evaluate(ModelRun run, DqModel model, ImageDataset test, CancellationToken cancellationToken)
        {
            var quick = AttackSuites.Quick(options.PgdSteps);
            var full = quick.Concat(AttackSuites.Standard(model.Spec.IsQuantized, options.PgdSteps, options.SquareQueries)).ToList();
            var sweepOnly = options.Epsilons.Except(options.SuiteEpsilons).ToList();
            string description = RobustnessEvaluator.Describe(model.Spec) + (run.Beta > 0 ? $", β = {run.Beta}" : "");
            var clock = Stopwatch.StartNew();
            run.Report = ui.Stage($"{run.Label} attack", update =>
            {
                double share = sweepOnly.Count == 0 ? 1 : 0.9;
                // Every attack at the suite's ε, so the per-example worst case there covers all of them ...
                var main = new RobustnessEvaluator(new RobustnessOptions
                {
                    Attacks = full, Epsilons = options.SuiteEpsilons, Limit = options.EvalLimit, Seed = options.Seed,
                    AmplificationEpsilon = AmplificationEpsilon, MaskingChecks = true, ModelDescription = description,
                }).Evaluate(model, test, new EvaluationReporter(update, 0, share), cancellationToken);
                if (sweepOnly.Count == 0) return main;
                // ... and FGSM/PGD at the remaining ε of the sweep.
                var sweep = new RobustnessEvaluator(new RobustnessOptions
                {
                    Attacks = quick, Epsilons = sweepOnly, Limit = options.EvalLimit, Seed = options.Seed,
                    AmplificationEpsilon = null, MaskingChecks = false, ModelDescription = description,
                }).Evaluate(model, test, new EvaluationReporter(update, share, 1 - share), cancellationToken);
                return Merge(main, sweep);
            });
            run.EvalTime = clock.Elapsed;
        }

        /// <summary>One report from the suite run and the FGSM/PGD sweep (the worst case at each ε lists the attacks it covers).</summary>
        private static RobustnessReport Merge(RobustnessReport main, RobustnessReport sweep)
        {
            var attacks = main.Attacks.Concat(sweep.Attacks).OrderBy(a => a.Epsilon).ToList();
            var warnings = main.Warnings.ToList();
            // The monotonicity check of the evaluator, over the merged ε grid.
            foreach (var group in attacks.GroupBy(a => a.Name))
            {
                var ordered = group.OrderBy(a => a.Epsilon).ToList();
                for (int i = 1; i < ordered.Count; i++)
                    if (ordered[i].RobustAccuracy > ordered[i - 1].RobustAccuracy + 0.02)
                        warnings.Add($"{group.Key}: robust accuracy rises from {ordered[i - 1].RobustAccuracy:P1} at ε = {ordered[i - 1].Epsilon:0.####} " +
                                     $"to {ordered[i].RobustAccuracy:P1} at ε = {ordered[i].Epsilon:0.####}; a larger budget cannot help the model unless the attack is failing (gradient masking?).");
            }
            return main with
            {
                Attacks = attacks,
                WorstCase = main.WorstCase.Concat(sweep.WorstCase).OrderBy(w => w.Epsilon).ToList(),
                Warnings = warnings.Distinct().ToList(),
            };
        }

        private static string Percent(double? value) => value is double v ? v.ToString("P1", CultureInfo.InvariantCulture) : "–";
    }

    /// <summary>Forwards trainer progress to a stage.</summary>
    internal sealed class TrainingReporter(StageUpdate update) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress p)
        {
            double fraction = (p.Epoch - 1 + (double)p.Batch / p.Batches) / p.Epochs;
            update(fraction, $"epoch {p.Epoch}/{p.Epochs}, CE {p.CrossEntropy:F3}, reg {p.Regularizer:F4}, train acc {p.TrainAccuracy:P1}, " +
                             $"{p.ImagesPerSecond:F0} img/s", p.IsEpochEnd);
        }
    }

    /// <summary>Forwards evaluator progress to a share of a stage.</summary>
    internal sealed class EvaluationReporter(StageUpdate update, double offset, double share) : IProgress<EvaluationProgress>
    {
        public void Report(EvaluationProgress p)
        {
            string status = p.Epsilon is double e ? $"{p.Stage} at ε = {e:0.###}" : p.Stage;
            update(offset + share * p.Step / Math.Max(1, p.Steps), status, true);
        }
    }
}
