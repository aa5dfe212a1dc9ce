// Quickstart: trains SmallCnn on Fashion-MNIST as FP, VQ-4 and DQ-4 through the ML.NET stage (mlContext.DefensiveQuantize),
// saves each fitted pipeline as an ML.NET zip and an ONNX file, attacks all three with the same attacks and compares
// clean and robust accuracy, error amplification and spectral norms.
// Usage: dotnet run -c Release --project samples/Quickstart -- [--help for the options]
using System.Diagnostics;
using System.Globalization;
using System.Text;
using DqMlNet.Data;
using DqMlNet.Evaluators;
using DqMlNet.Lipschitz;
using DqMlNet.Models;
using DqMlNet.Samples.Quickstart;
using DqMlNet.Trainers;
using DqMlNet.TorchTraining;
using DqMlNet.Transforms;
using DqMlNet.Transforms.Onnx;
using Microsoft.ML;

CultureInfo.DefaultThreadCurrentCulture = CultureInfo.InvariantCulture;
CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;
Console.OutputEncoding = Encoding.UTF8;
return QuickstartOptions.Invoke(args, options =>
{
    DqMlNet.Runtime.DqRuntime.ConfigureProcess(threads: options.Threads, tuneMalloc: true); // process-wide tuning is the application's call
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
});

namespace DqMlNet.Samples.Quickstart
{
    /// <summary>One trained and evaluated model.</summary>
    internal sealed record ModelRun(string Name, string Label, ModelSpec Spec, double Beta)
    {
        public double CleanAccuracy { get; set; }
        public double MlNetAccuracy { get; set; }
        public double MlNetLogLoss { get; set; }
        public double Orthogonality { get; set; }
        public RobustnessReport? Report { get; set; }
        /// <summary>The same suite on the deployed model: the saved zip's ONNX export judged by ONNX Runtime, gradients from its twin.</summary>
        public RobustnessReport? Deployed { get; set; }
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
            string dataDirectory = Path.GetDirectoryName(files.TrainImages)!;
            var ml = new MLContext(seed: options.Seed);
            // ML.NET views for training and clean metrics; the attacks run on tensors of the same test images.
            var trainView = ml.Data.LoadFashionMnist(DatasetSplit.Train, dataDirectory, options.TrainLimit);
            var testView = ml.Data.LoadFashionMnist(DatasetSplit.Test, dataDirectory, options.TestLimit);
            using var test = files.Load(DatasetSplit.Test, FashionMnist.ClassNames, options.TestLimit);
            int trainLabels = IdxFile.ReadLabels(files.TrainLabels).Length;
            int trainCount = options.TrainLimit is int limit ? Math.Min(limit, trainLabels) : trainLabels;
            int evalCount = Math.Min(options.EvalLimit, test.Count);
            ui.Line($"Fashion-MNIST from {files.Source}: {trainCount} train images, {test.Count} test images " +
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
                var zipPath = Path.Combine(output, $"{run.Name}.zip");
                var written = new List<string> { zipPath };
                using (var fitted = TrainModel(ml, run, trainView, cancellationToken))
                {
                    // What users ship: the fitted pipeline saved with ML.NET's own Model.Save (atomically: a failed save
                    // leaves an older file intact).
                    AtomicFile.Write(zipPath, stream => ml.Model.Save(fitted.Chain, trainView.Schema, stream), overwrite: true);
                    var model = fitted.LastTransformer.Model;
                    run.CleanAccuracy = ModelScoring.Accuracy(model, test);
                    run.Orthogonality = model.WeightLayers.Sum(l => LipschitzRegularizer.OrthogonalityPenalty(l.Weight).item<float>());
                    ui.Line($"{run.Label}: clean accuracy {run.CleanAccuracy:P2} ({test.Count} images, float model), trained in " +
                            $"{run.TrainTime.TotalSeconds:F0} s; saved {Path.GetFileName(zipPath)}");
                    if (options.Onnx) written.Add(ExportOnnx(run, model, test, evalCount, output));
                    EvaluateFloat(run, model, test, cancellationToken);
                }
                var metrics = EvaluateSaved(ml, run, zipPath, testView, cancellationToken);
                foreach (var report in new[] { RobustnessReportWriter.Write(metrics, output, $"{run.Name}.deployed", overwrite: true),
                                               RobustnessReportWriter.Write(run.Report!, output, run.Name, overwrite: true) })
                    written.AddRange(new[] { report.Json, report.Markdown });
                run.Files = written;
                ui.Line($"{run.Label}: ML.NET Evaluate of the saved zip: micro-accuracy {metrics.Clean.MicroAccuracy:P2}, log-loss {metrics.Clean.LogLoss:F3}");
                ui.Line($"{run.Label}: " + string.Join(", ", options.SuiteEpsilons.Select(e =>
                    $"{Label(run.Deployed!, e)} {Percent(run.Deployed!.WorstCaseAccuracy(e))} deployed (ONNX)" +
                    (run.Spec.IsQuantized ? $" / {Percent(run.Report!.WorstCaseAccuracy(e))} float" : "") + $" at ε = {e}")) +
                    $" (evaluated in {run.EvalTime.TotalSeconds:F0} s)");
            }

            var models = runs.Select(r => (r.Label, r.Report!)).ToList();
            var robustnessPng = Path.Combine(output, "robustness.png");
            ReportPlots.RobustAccuracyByModel(models, robustnessPng, attack: $"PGD-{options.PgdSteps}"); // titled as an upper bound
            var amplificationPng = Path.Combine(output, "error-amplification.png");
            ReportPlots.ErrorAmplification(models, amplificationPng);

            total.Stop();
            var table = SummaryTable.Build(runs, options, test.Count, evalCount);
            var summaryPath = Path.Combine(output, "summary.md");
            var summary = SummaryTable.Markdown(table, runs, options, files.Source, trainCount, test.Count, evalCount, total.Elapsed);
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

        /// <summary>The ML.NET pipeline: the text label to a key (class order kept), then the DefensiveQuantize stage.</summary>
        private FittedPipeline TrainModel(MLContext ml, ModelRun run, IDataView train, CancellationToken cancellationToken)
        {
            var classes = ml.Data.LoadFromEnumerable(FashionMnist.ClassNames.Select(name => new ClassName { Label = name }));
            var clock = Stopwatch.StartNew();
            var fitted = ui.Stage($"{run.Label} train", update =>
                ml.Transforms.Conversion.MapValueToKey("Label", keyData: classes)
                    .Append(ml.DefensiveQuantize(new DefensiveQuantizationEstimator.Options
                    {
                        Mode = run.Spec.Mode, ActivationBits = run.Spec.ActivationBits, Beta = run.Beta > 0 ? run.Beta : null,
                        MaxEpoch = options.Epochs, BatchSize = 128, LearningRate = options.LearningRate, Seed = options.Seed,
                        Threads = options.Threads, ImageChannels = run.Spec.Channels, ImageHeight = run.Spec.Height,
                        ImageWidth = run.Spec.Width, Mean = run.Spec.Mean, Std = run.Spec.Std,
                        Progress = new TrainingReporter(update), CancellationToken = cancellationToken,
                    }))
                    .Fit(train));
            run.TrainTime = clock.Elapsed;
            return new FittedPipeline(fitted);
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

        /// <summary>
        /// The suite of the worst case, cheap attacks first: in the cascade every image they break is one the expensive
        /// APGD runs need not attack.
        /// </summary>
        private IReadOnlyList<AttackEntry> Suite(bool quantized)
        {
            var light = AttackSuites.Light(quantized, options.PgdSteps, options.SquareQueries);
            return AttackSuites.Quick(options.PgdSteps).Concat(light.OrderBy(a => a.SmoothProxy ? 0 : a.Name == "Square" ? 1 : 2)).ToList();
        }

        /// <summary>
        /// The suite on what ships, through the public API: the saved zip loaded back (<c>DqModelFile.Load</c>) and
        /// evaluated with <c>EvaluateRobustness</c> (ML.NET's clean metrics on every test image, and the attacks on the
        /// stage's deployed export: every verdict from ONNX Runtime, every gradient from the export's differentiable twin).
        /// </summary>
        private RobustnessMetrics EvaluateSaved(MLContext ml, ModelRun run, string zipPath, IDataView testView, CancellationToken cancellationToken)
        {
            // DqModelFile.Load is ML.NET's Model.Load plus DqMlNet's checks of the file, and it restores the DQ stage
            // itself (plain Model.Load gives ONNX Runtime stand-ins, which score the same but cannot be attacked white-box).
            var loaded = DqModelFile.Load(ml, zipPath, out _);
            try
            {
                var clock = Stopwatch.StartNew();
                var metrics = ui.Stage($"{run.Label} attack the saved zip (deployed ONNX)", update => ml.MulticlassClassification.EvaluateRobustness(
                    loaded, testView, options: new RobustnessOptions
                    {
                        Attacks = Suite(run.Spec.IsQuantized), Epsilons = options.SuiteEpsilons, Limit = options.EvalLimit, Seed = options.Seed,
                        AmplificationEpsilon = null, MaskingChecks = false, Cascade = true,
                        ModelDescription = RobustnessEvaluator.Describe(run.Spec) + (run.Beta > 0 ? $", β = {run.Beta}" : ""),
                    }, progress: new EvaluationReporter(update, 0, 1), cancellationToken: cancellationToken));
                run.EvalTime += clock.Elapsed;
                run.Deployed = metrics.Report;
                run.MlNetAccuracy = metrics.Clean.MicroAccuracy;
                run.MlNetLogLoss = metrics.Clean.LogLoss;
                return metrics;
            }
            finally
            {
                // ML.NET's chain disposes the transformers it holds (the stage's TorchSharp model and ONNX session).
                if (loaded is IDisposable disposable) disposable.Dispose();
                else foreach (var stage in ((IEnumerable<ITransformer>)loaded).OfType<IDisposable>()) stage.Dispose();
            }
        }

        /// <summary>
        /// The float TorchSharp model beside the deployed one: FGSM and PGD on every image at every ε (per-attack numbers,
        /// masking checks, error amplification), then, for the quantized models, the worst-case suite at the suite's ε.
        /// FP's export is its own float graph, so its deployed worst case already describes the float model and the
        /// suite is not run twice.
        /// </summary>
        private void EvaluateFloat(ModelRun run, DqModel model, ImageDataset test, CancellationToken cancellationToken)
        {
            var quick = AttackSuites.Quick(options.PgdSteps);
            var suite = Suite(model.Spec.IsQuantized);
            var allEpsilons = options.Epsilons.Union(options.SuiteEpsilons).OrderBy(e => e).ToList();
            string description = RobustnessEvaluator.Describe(model.Spec) + (run.Beta > 0 ? $", β = {run.Beta}" : "");
            var clock = Stopwatch.StartNew();
            run.Report = ui.Stage($"{run.Label} attack", update =>
            {
                // FGSM and PGD on every image at every ε (exact per-attack numbers, masking checks, error amplification) ...
                var sweep = new RobustnessEvaluator(new RobustnessOptions
                {
                    Attacks = quick, Epsilons = allEpsilons, Limit = options.EvalLimit, Seed = options.Seed,
                    AmplificationEpsilon = AmplificationEpsilon, MaskingChecks = true, ModelDescription = description,
                }).Evaluate(model, test, new EvaluationReporter(update, 0, model.Spec.IsQuantized ? 0.3 : 1), cancellationToken);
                if (!model.Spec.IsQuantized) return sweep;
                // ... then the whole suite at the suite's ε in AutoAttack's cascade: each attack only on the images every
                // earlier one failed on, for a fraction of the cost once most images are broken (its worst case agrees with
                // running everything on every image up to the attacks' batch-dependent randomness).
                var cascade = new RobustnessEvaluator(new RobustnessOptions
                {
                    Attacks = suite, Epsilons = options.SuiteEpsilons, Limit = options.EvalLimit, Seed = options.Seed,
                    AmplificationEpsilon = null, MaskingChecks = false, ModelDescription = description, Cascade = true,
                }).Evaluate(model, test, new EvaluationReporter(update, 0.3, 0.7), cancellationToken);
                return Merge(sweep, cascade, quick.Select(a => a.Name).ToHashSet());
            });
            run.EvalTime = clock.Elapsed;
        }

        /// <summary>
        /// One report: the sweep's exact FGSM/PGD rows, the cascade's (cumulative) rows of the other attacks, and the
        /// cascade's worst case, which covers every attack.
        /// </summary>
        private static RobustnessReport Merge(RobustnessReport sweep, RobustnessReport cascade, IReadOnlySet<string> sweepAttacks) => sweep with
        {
            Attacks = sweep.Attacks.Concat(cascade.Attacks.Where(a => !sweepAttacks.Contains(a.Name))).OrderBy(a => a.Epsilon).ToList(),
            WorstCase = cascade.WorstCase,
            Warnings = sweep.Warnings.Concat(cascade.Warnings).Distinct().ToList(),
        };

        private static string Label(RobustnessReport report, double e) =>
            report.WorstCase.FirstOrDefault(w => Math.Abs(w.Epsilon - e) < 1e-12)?.Label ?? "worst case";

        private static string Percent(double? value) => value is double v ? v.ToString("P1", CultureInfo.InvariantCulture) : "–";
    }

    /// <summary>A fitted pipeline (key label → DQ stage) that disposes the stage's TorchSharp model and ONNX session.</summary>
    internal sealed class FittedPipeline(Microsoft.ML.Data.TransformerChain<DefensiveQuantizationTransformer> chain) : IDisposable
    {
        public ITransformer Chain { get; } = chain;
        public DefensiveQuantizationTransformer LastTransformer { get; } = chain.LastTransformer;
        public IDataView Transform(IDataView input) => Chain.Transform(input);
        public void Dispose() => LastTransformer.Dispose();
    }

    /// <summary>A row of the key-order table of MapValueToKey.</summary>
    internal sealed class ClassName
    {
        public string Label { get; set; } = "";
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
