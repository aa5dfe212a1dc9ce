using DqMlNet.Attacks;
using DqMlNet.Data;
using DqMlNet.Evaluators;
using DqMlNet.Models;
using DqMlNet.Quantization;
using DqMlNet.TorchTraining;
using DqMlNet.Transforms.Onnx;
using static TorchSharp.torch;

namespace DqMlNet.Tests;

/// <summary>A DQ-4 SmallCnn and a 2-bit SmallCnn with BatchNorm and 4-bit weights, trained once, exported to ONNX bytes.</summary>
public sealed class DeployedModels : IDisposable
{
    public DeployedModels()
    {
        Train = TestData.Load(DatasetSplit.Train);
        Test = TestData.Load(DatasetSplit.Test);
        var options = new DqTrainerOptions { Epochs = 1, BatchSize = 64, Seed = 11, Threads = TestData.Threads };
        Dq4 = new DqTrainer(TestData.SmallCnn(TrainingMode.Defensive, bits: 4), options with { Beta = 2e-3 }).Fit(Train).Model;
        // BatchNorm (folded by the export) and trained 4-bit weights (re-derived scales) are the twin's hard cases.
        Vq2 = new DqTrainer(TestData.SmallCnn(TrainingMode.Vanilla, bits: 2) with { BatchNorm = true, WeightBits = 4 }, options).Fit(Train).Model;
        Dq4.eval();
        Vq2.eval();
        Dq4Onnx = OnnxExporter.ToBytes(Dq4);
        Vq2Onnx = OnnxExporter.ToBytes(Vq2);
    }

    public ImageDataset Train { get; }
    public ImageDataset Test { get; }
    public DqModel Dq4 { get; }
    public DqModel Vq2 { get; }
    public byte[] Dq4Onnx { get; }
    public byte[] Vq2Onnx { get; }

    public void Dispose()
    {
        Train.Dispose();
        Test.Dispose();
        Dq4.Dispose();
        Vq2.Dispose();
    }
}

public partial class DeployedModelTests(DeployedModels models) : IClassFixture<DeployedModels>
{
    private static long[] TwinLabels(DqModel twin, Tensor images)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        return twin.call(images).argmax(1).data<long>().ToArray();
    }

    [Theory]
    [InlineData("dq4")]
    [InlineData("vq2")]
    public void TheTwinPredictsWhatOnnxRuntimePredicts(string name)
    {
        var onnx = name == "dq4" ? models.Dq4Onnx : models.Vq2Onnx;
        using var deployed = DeployedModel.FromBytes(onnx);
        var images = models.Test.Images;
        var ort = deployed.Session.PredictLabels(images);
        var twin = TwinLabels(deployed.Replica, images);
        int agree = Enumerable.Range(0, ort.Length).Count(i => ort[i] == twin[i]);
        double parity = (double)agree / ort.Length;
        Assert.True(parity >= 0.998, $"{name}: twin and ONNX Runtime agree on {agree}/{ort.Length} test images");
        Assert.True(deployed.Session.ProvidesLogits);

        // On attacked images (pushed to decision boundaries) too: PGD-10 crafted on the twin, ε = 0.1, 200 images.
        using var scope = NewDisposeScope();
        var x = images.narrow(0, 0, 200);
        var y = models.Test.Labels.narrow(0, 0, 200);
        var adversarial = new Pgd(0.1, 10) { Seed = 3 }.Perturb(new TorchClassifier(deployed.Replica), x, y).Adversarial;
        var ortAdv = deployed.Session.PredictLabels(adversarial);
        var twinAdv = TwinLabels(deployed.Replica, adversarial);
        int agreeAdv = Enumerable.Range(0, 200).Count(i => ortAdv[i] == twinAdv[i]);
        Assert.True(agreeAdv >= 196, $"{name}: twin and ONNX Runtime agree on {agreeAdv}/200 attacked images");
        Console.WriteLine($"parity {name}: clean {agree}/{ort.Length}, attacked {agreeAdv}/200");
    }

    [Fact]
    public void TheTwinKeepsTheFilesWeightsVerbatimAndItsLogitsMatchOnnxRuntime()
    {
        using var deployed = DeployedModel.FromBytes(models.Vq2Onnx);
        // The twin uses the file's dequantized weights as they are (no second rounding with re-derived scales).
        Assert.Null(deployed.Replica.Spec.WeightBits);
        Assert.Equal(4, deployed.Spec.WeightBits);
        using var scope = NewDisposeScope();
        var x = models.Test.Images.narrow(0, 0, 64);
        Tensor twin, ort;
        using (no_grad()) twin = deployed.Replica.call(x);
        using (no_grad()) ort = deployed.Classifier.Logits(x);
        // Float32 twin vs int32 accumulation: only rare grid flips; logits agree closely on most images.
        var close = twin.sub(ort).abs().amax(new long[] { 1 }).lt(1e-2f).sum().item<long>();
        Assert.True(close >= 60, $"only {close}/64 images have twin logits within 0.01 of ONNX Runtime's");
    }

    [Fact]
    public void DeployedEvaluationJudgesOnOnnxRuntimeAndNamesTheArtifact()
    {
        using var deployed = DeployedModel.FromBytes(models.Dq4Onnx);
        var options = new RobustnessOptions
        {
            Attacks = new[] { AttackEntry.Named("PGD", steps: 10), AttackEntry.Named("PGD-proxy", steps: 10) },
            Epsilons = new[] { 0.1 }, Limit = 200, Seed = 4, MaskingChecks = false, AmplificationEpsilon = 0.1,
        };
        var report = new RobustnessEvaluator(options).Evaluate(deployed, models.Test);
        Assert.Equal(RobustnessReport.DeployedExport, report.Artifact);
        var ortClean = deployed.Session.PredictLabels(models.Test.Images.narrow(0, 0, 200));
        var labels = models.Test.Labels.narrow(0, 0, 200).data<long>().ToArray();
        Assert.Equal(Enumerable.Range(0, 200).Count(i => ortClean[i] == labels[i]) / 200.0, report.CleanAccuracy, 9);
        Assert.True(report.RobustAccuracy("PGD-10", 0.1) < report.CleanAccuracy - 0.1);
        Assert.Contains("surrogate-gradient attack", report.Attacks.Single(a => a.Name == "PGD-10-proxy").Settings);
        // Gradient attacks only: the minimum is an upper bound, and says so everywhere.
        Assert.Equal(RobustBound.UpperBound, report.WorstCaseBound(0.1));
        var md = ReportWriter.ToMarkdown(report);
        Assert.Contains("upper bound (gradient attacks only)", md);
        Assert.DoesNotContain("**worst case**", md);
        Assert.Contains(RobustnessReport.DeployedExport, md);
        Assert.Contains("\"bound\": \"UpperBound\"", ReportWriter.ToJson(report));
        Assert.Equal(RobustBound.UpperBound, ReportWriter.FromJson(ReportWriter.ToJson(report)).WorstCase[0].Bound);

        var withSquare = new RobustnessEvaluator(options with
        {
            Attacks = new[] { AttackEntry.Named("PGD", steps: 10), AttackEntry.Named("Square", squareQueries: 50) }, Limit = 50,
            AmplificationEpsilon = null,
        }).Evaluate(deployed, models.Test);
        Assert.Equal(RobustBound.WorstCase, withSquare.WorstCaseBound(0.1));
        Assert.Contains("| **worst case** |", ReportWriter.ToMarkdown(withSquare));
        Assert.Equal(RobustBound.WorstCase, ReportWriter.FromJson(ReportWriter.ToJson(withSquare)).WorstCase[0].Bound);
    }

    [Fact]
    public void ZeroGradientCheckFiresOnADeployedModelWhoseTwinRoundsWithoutStraightThrough()
    {
        using var deployed = DeployedModel.FromBytes(models.Vq2Onnx);
        var masked = new DeployedClassifier(deployed.Session, deployed.Replica, QuantizerGradient.None);
        var options = new RobustnessOptions
        {
            Attacks = new[] { AttackEntry.Named("FGSM") }, Epsilons = new[] { 0.1 }, Limit = 40, MaskingSubset = 20, Seed = 2,
            AmplificationEpsilon = null,
        };
        var report = new RobustnessEvaluator(options).Evaluate(masked, models.Test);
        Assert.Contains(report.Warnings, w => w.Contains("zero or non-finite"));
        Assert.Equal(report.CleanAccuracy, report.RobustAccuracy("FGSM", 0.1)!.Value); // a zero gradient moves nothing

        var honest = new RobustnessEvaluator(options).Evaluate(deployed.Classifier, models.Test);
        Assert.DoesNotContain(honest.Warnings, w => w.Contains("zero or non-finite"));
    }

    [Fact]
    public void OperatorNormsBoundTheConvolutionsAndExceedTheReshapedKernelNorms()
    {
        var report = DqMlNet.Lipschitz.SpectralNorm.Measure(models.Dq4);
        Assert.Equal(4, report.Layers.Count);
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var gen = new Generator(5);
        foreach (var (layer, (name, module)) in report.Layers.Zip(models.Dq4.named_modules().Where(m => m.module is QuantConv2d or QuantLinear)))
        {
            Assert.Equal(layer.Layer, name);
            Assert.True(layer.Norm > 0 && layer.ReshapedKernelNorm > 0);
            if (module is not QuantConv2d conv) continue;
            // A convolution's operator norm is at least the reshaped kernel's (each output pixel sees a full window)
            // and at most √(kh·kw) times it; random inputs never exceed it.
            Assert.True(layer.Norm >= layer.ReshapedKernelNorm * 0.999, $"{name}: operator {layer.Norm} < reshaped {layer.ReshapedKernelNorm}");
            long k = conv.Weight.shape[2] * conv.Weight.shape[3];
            Assert.True(layer.Norm <= layer.ReshapedKernelNorm * Math.Sqrt(k) * 1.001);
        }
        Assert.Equal(report.Layers.Aggregate(1.0, (p, l) => p * l.Norm), report.Product, 9);
        // Random probe: ‖conv(x)‖ ≤ σ‖x‖ for the first convolution on its 28×28 input.
        var first = models.Dq4.modules().OfType<QuantConv2d>().First();
        var x = randn(new long[] { 8, 1, 28, 28 }, generator: gen);
        var y = nn.functional.conv2d(x, first.Weight, strides: new[] { first.Stride, first.Stride }, padding: new[] { first.Padding, first.Padding });
        var ratio = y.flatten(1).norm(1).div(x.flatten(1).norm(1)).max().item<float>();
        Assert.True(ratio <= report.Layers[0].Norm * 1.0001, $"‖Ax‖/‖x‖ = {ratio} > σ = {report.Layers[0].Norm}");
    }
}
