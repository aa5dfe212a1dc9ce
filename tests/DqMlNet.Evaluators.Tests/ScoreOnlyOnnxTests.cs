using DqMlNet.Attacks;
using DqMlNet.Evaluators;
using DqMlNet.Transforms.Onnx;
using static TorchSharp.torch;

namespace DqMlNet.Tests;

/// <summary>An ONNX export attacked through <see cref="OnnxClassifier"/> alone: score-only, judged on its logits.</summary>
public partial class DeployedModelTests
{
    [Fact]
    public void SquareOnTheScoreOnlyOnnxClassifierLowersAccuracyAndTheReportSaysNoGradientAttackRan()
    {
        using var onnx = new OnnxClassifier(models.Dq4Onnx);
        IClassifier classifier = onnx;
        Assert.False(classifier.HasGradients);
        var options = new RobustnessOptions
        {
            Attacks = new[] { AttackEntry.Named("Square", squareQueries: 100), AttackEntry.Named("PGD", steps: 5) },
            Epsilons = new[] { 0.1 }, Limit = 100, Seed = 3, MaskingChecks = false, AmplificationEpsilon = null,
        };
        var report = new RobustnessEvaluator(options).Evaluate(classifier, models.Test);

        var labels = models.Test.Labels.narrow(0, 0, 100).data<long>().ToArray();
        var clean = onnx.PredictLabels(models.Test.Images.narrow(0, 0, 100));
        Assert.Equal(Enumerable.Range(0, 100).Count(i => clean[i] == labels[i]) / 100.0, report.CleanAccuracy, 9);
        double square = report.RobustAccuracy("Square", 0.1)!.Value;
        Assert.True(square < report.CleanAccuracy - 0.1, $"Square left {square:P0} of {report.CleanAccuracy:P0} clean");
        Assert.Null(report.RobustAccuracy("PGD-5", 0.1)); // a gradient attack cannot run on a session
        Assert.Contains(report.Warnings, w => w.StartsWith("PGD-5 skipped", StringComparison.Ordinal));
        Assert.Contains(report.Warnings, w => w.Contains("no gradient (white-box) attack could run") && w.Contains("upper bound"));
        Assert.Contains("score-only", report.Artifact);
        Assert.Contains("score-only", ReportWriter.ToMarkdown(report));

        // The same attack through the deployed model's white-box adapter is judged on the same logits.
        using var deployed = DeployedModel.FromBytes(models.Dq4Onnx);
        var white = new RobustnessEvaluator(options with { Attacks = new[] { AttackEntry.Named("Square", squareQueries: 100) } })
            .Evaluate(deployed, models.Test);
        Assert.Equal(square, white.RobustAccuracy("Square", 0.1)!.Value, 9);
        Assert.DoesNotContain(white.Warnings, w => w.Contains("no gradient (white-box) attack could run"));
    }

    [Fact]
    public void TheDeployedAdapterJudgesWithTheOnnxClassifiersLogits()
    {
        using var deployed = DeployedModel.FromBytes(models.Vq2Onnx);
        Assert.True(DeployedModel.IsDqMlNetExport(deployed.Session));
        using var scope = NewDisposeScope();
        var x = models.Test.Images.narrow(0, 0, 32);
        Assert.Equal(deployed.Session.Logits(x).data<float>().ToArray(), deployed.Classifier.Logits(x).data<float>().ToArray());
        Assert.Equal(deployed.Session.Logits(x).data<float>().ToArray(), deployed.ProxyClassifier.Logits(x).data<float>().ToArray());
        var pgd = Assert.Throws<InvalidOperationException>(() => new Pgd(0.1, 2).Generate(deployed.Session, x, models.Test.Labels.narrow(0, 0, 32)));
        Assert.Contains("DeployedModel", pgd.Message);
    }
}
