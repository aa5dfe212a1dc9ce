using DqMlNet.Attacks;
using DqMlNet.Data;
using DqMlNet.Evaluators;
using DqMlNet.Models;
using DqMlNet.Trainers;
using DqMlNet.Transforms;
using Microsoft.ML;

namespace DqMlNet.Tests;

public class RobustnessStageTests
{
    private static (MLContext Ml, ITransformer Model, IDataView Test) Train(TrainingMode mode)
    {
        var ml = new MLContext(seed: 0);
        var train = VectorData.View(ml, VectorData.Rows(DatasetSplit.Train, 1000));
        var test = VectorData.View(ml, VectorData.Rows(DatasetSplit.Test, 300));
        var pipeline = ml.Transforms.Conversion.MapValueToKey("Label")
            .Append(ml.DefensiveQuantize(new DefensiveQuantizationEstimator.Options
            {
                Mode = mode, ActivationBits = 4, Beta = mode == TrainingMode.Defensive ? 2e-3 : 0, MaxEpoch = 2, BatchSize = 64, Seed = 3, Threads = TestData.Threads,
            }));
        return (ml, pipeline.Fit(train), test);
    }

    [Fact]
    public void EvaluateRobustnessAndTheAttackStageAgree()
    {
        var options = new RobustnessOptions
        {
            Attacks = new[] { AttackEntry.Named("FGSM"), AttackEntry.Named("PGD", steps: 10) }, Epsilons = new[] { 0.05, 0.1 },
            Seed = 7, MaskingChecks = false, AmplificationEpsilon = 0.1,
        };
        var results = new Dictionary<TrainingMode, RobustnessMetrics>();
        foreach (var mode in new[] { TrainingMode.FullPrecision, TrainingMode.Defensive })
        {
            var (ml, model, test) = Train(mode);
            var metrics = ml.MulticlassClassification.EvaluateRobustness(model, test, options: options);
            results[mode] = metrics;
            Assert.Equal(metrics.Clean.MicroAccuracy, metrics.Report.CleanAccuracy, 6);
            Assert.True(metrics.RobustAccuracy("PGD-10", 0.1) < metrics.Report.CleanAccuracy);
            Assert.Equal(3, metrics.Report.Layers.Count);

            // The attack stage + the standard Evaluate gives the same robust accuracy for the same attack and seed.
            var stage = ((IEnumerable<ITransformer>)model).OfType<DefensiveQuantizationTransformer>().Single();
            var keyed = ((IEnumerable<ITransformer>)model).First().Transform(test); // the pipeline's own label mapping
            var attack = new Pgd(0.1, 10) { Seed = 7 };
            var adversarial = ml.Transforms.Adversarial(stage, attack).Fit(keyed).Transform(keyed);
            var robust = ml.MulticlassClassification.Evaluate(stage.Transform(adversarial));
            Assert.Equal(metrics.RobustAccuracy("PGD-10", 0.1)!.Value, robust.MicroAccuracy, 6);
        }
        Assert.True(results[TrainingMode.Defensive].Report.SpectralNormProduct < results[TrainingMode.FullPrecision].Report.SpectralNormProduct);

        var dir = TestData.TempDirectory();
        try
        {
            var files = RobustnessReportWriter.Write(results[TrainingMode.Defensive], dir, "dq4");
            Assert.Equal(Path.Combine(dir, "dq4.robustness.json"), files.Json);
            Assert.Equal(results[TrainingMode.Defensive].Report.WorstCaseAccuracy(0.1), ReportWriter.ReadJson(files.Json).WorstCaseAccuracy(0.1));
            Assert.Contains("PGD-10", File.ReadAllText(files.Markdown));
            // An existing report is never replaced unasked; with overwrite it is.
            File.WriteAllText(files.Markdown, "mine");
            Assert.Throws<IOException>(() => RobustnessReportWriter.Write(results[TrainingMode.FullPrecision], dir, "dq4"));
            Assert.Equal("mine", File.ReadAllText(files.Markdown));
            RobustnessReportWriter.Write(results[TrainingMode.FullPrecision], dir, "dq4", overwrite: true);
            Assert.Contains("PGD-10", File.ReadAllText(files.Markdown));
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }
}
