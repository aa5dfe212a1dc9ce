using DqMlNet.Data;
using DqMlNet.Evaluators;
using DqMlNet.Models;
using DqMlNet.Trainers;
using DqMlNet.Transforms;
using Microsoft.ML;

namespace DqMlNet.Tests;

public class DeployedRobustnessTests
{
    [Fact]
    public void AFittedStageAndTheSameStageReloadedFromItsZipGiveIdenticalRobustness()
    {
        var ml = new MLContext(seed: 0);
        var train = VectorData.View(ml, VectorData.Rows(DatasetSplit.Train, 1000));
        var test = VectorData.View(ml, VectorData.Rows(DatasetSplit.Test, 150));
        var model = ml.Transforms.Conversion.MapValueToKey("Label")
            .Append(ml.DefensiveQuantize(new DefensiveQuantizationEstimator.Options
            {
                Mode = TrainingMode.Defensive, ActivationBits = 4, Beta = 2e-3, MaxEpoch = 1, BatchSize = 64, Seed = 3, Threads = TestData.Threads,
            }))
            .Fit(train);
        var options = new RobustnessOptions
        {
            Attacks = new[] { AttackEntry.Named("FGSM"), AttackEntry.Named("PGD", steps: 5), AttackEntry.Named("PGD-proxy", steps: 5), AttackEntry.Named("Square", squareQueries: 40) },
            Epsilons = new[] { 0.05, 0.1 }, Seed = 7, MaskingChecks = false, AmplificationEpsilon = 0.1,
        };
        var fitted = ml.MulticlassClassification.EvaluateRobustness(model, test, options: options).Report;

        var dir = TestData.TempDirectory();
        try
        {
            var zip = Path.Combine(dir, "dq4.zip");
            ml.Model.Save(model, train.Schema, zip);
            var reloaded = DqModelFile.Load(ml, zip, out _);
            var again = ml.MulticlassClassification.EvaluateRobustness(reloaded, test, options: options).Report;

            Assert.Equal(RobustnessReport.DeployedExport, fitted.Artifact);
            Assert.Equal(fitted.CleanAccuracy, again.CleanAccuracy);
            Assert.Equal(fitted.Attacks.Select(a => (a.Name, a.Epsilon, a.RobustAccuracy, a.MeanPerturbation, a.MeanQueries)),
                again.Attacks.Select(a => (a.Name, a.Epsilon, a.RobustAccuracy, a.MeanPerturbation, a.MeanQueries)));
            Assert.Equal(fitted.WorstCase.Select(w => (w.Epsilon, w.RobustAccuracy, w.Bound)), again.WorstCase.Select(w => (w.Epsilon, w.RobustAccuracy, w.Bound)));
            Assert.Equal(fitted.Layers, again.Layers);
            Assert.Equal(fitted.SpectralNorms, again.SpectralNorms);
            Assert.All(fitted.WorstCase, w => Assert.Equal(RobustBound.WorstCase, w.Bound)); // the suite has Square
            Assert.True(fitted.WorstCaseAccuracy(0.1) < fitted.CleanAccuracy);
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }
}
