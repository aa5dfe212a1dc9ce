using DqMlNet.Attacks;
using DqMlNet.Data;
using DqMlNet.Evaluators;
using DqMlNet.Models;
using DqMlNet.Quantization;
using DqMlNet.TorchTraining;
using static TorchSharp.torch;

namespace DqMlNet.Tests;

public class EvaluatorTests(TrainedModels models) : IClassFixture<TrainedModels>
{
    [Fact]
    public void RobustAccuracyBehavesOnATrainedModel()
    {
        var options = new RobustnessOptions
        {
            Attacks = new[] { AttackEntry.Named("FGSM"), AttackEntry.Named("PGD", steps: 10), new AttackEntry("APGD-CE", e => new Apgd(e, 30)) },
            Epsilons = new[] { 0.0, 0.02, 0.05, 0.1, 0.5 },
            Limit = 300, Seed = 1, MaskingChecks = false, AmplificationEpsilon = null,
        };
        var report = new RobustnessEvaluator(options).Evaluate(models.Fp, models.Test);
        Assert.Equal(300, report.N);
        Assert.True(report.CleanAccuracy > 0.7, $"clean {report.CleanAccuracy:P1}");
        foreach (var name in new[] { "FGSM", "PGD-10", "APGD-CE" })
        {
            Assert.Equal(report.CleanAccuracy, report.RobustAccuracy(name, 0)!.Value);
            var curve = options.Epsilons.Select(e => report.RobustAccuracy(name, e)!.Value).ToList();
            for (int i = 1; i < curve.Count; i++) Assert.True(curve[i] <= curve[i - 1], $"{name} rises with ε: {string.Join(", ", curve)}");
        }
        foreach (var e in options.Epsilons.Where(e => e > 0))
        {
            double fgsm = report.RobustAccuracy("FGSM", e)!.Value, pgd = report.RobustAccuracy("PGD-10", e)!.Value, apgd = report.RobustAccuracy("APGD-CE", e)!.Value;
            Assert.True(pgd <= fgsm, $"ε={e}: PGD {pgd:P1} > FGSM {fgsm:P1}");
            Assert.True(apgd <= pgd + 0.01, $"ε={e}: APGD {apgd:P1} > PGD {pgd:P1} + 1 point");
            Assert.Equal(Math.Min(Math.Min(fgsm, pgd), apgd), report.WorstCaseAccuracy(e)!.Value, 1e-9 + 0.0); // worst case ≤ each
        }
        Assert.True(report.RobustAccuracy("PGD-10", 0.5) < 0.05);
        Assert.All(report.Attacks, a => Assert.True(a.MaxPerturbation <= a.Epsilon + 1e-6));
        Assert.All(report.Attacks.Where(a => a.Epsilon > 0), a => Assert.True(a.MeanPerturbation > 0));
    }

    [Fact]
    public void CascadeAttacksOnlySurvivorsAndKeepsTheWorstCase()
    {
        var attacks = new[] { AttackEntry.Named("FGSM"), AttackEntry.Named("PGD", steps: 10), new AttackEntry("APGD-CE", e => new Apgd(e, 30)) };
        var options = new RobustnessOptions
        {
            Attacks = attacks, Epsilons = new[] { 0.05, 0.1 }, Limit = 300, Seed = 1, MaskingChecks = false, AmplificationEpsilon = null,
        };
        var full = new RobustnessEvaluator(options).Evaluate(models.Vq, models.Test);
        var cascade = new RobustnessEvaluator(options with { Cascade = true }).Evaluate(models.Vq, models.Test);

        Assert.All(full.Attacks, a => Assert.False(a.Cumulative));
        Assert.All(cascade.Attacks, a => Assert.True(a.Cumulative));
        foreach (double e in options.Epsilons)
        {
            var rows = attacks.Select(a => cascade.Attacks.Single(r => r.Name == a.Name && r.Epsilon == e)).ToList();
            // The first attack sees every image, so its row equals the full run's.
            Assert.Equal(full.RobustAccuracy("FGSM", e), rows[0].RobustAccuracy);
            Assert.Equal(300, rows[0].Attacked);
            for (int i = 1; i < rows.Count; i++)
            {
                // Each later attack perturbs exactly the images robust so far, and can only lower the cumulative accuracy.
                Assert.Equal((int)Math.Round(rows[i - 1].RobustAccuracy * 300), rows[i].Attacked);
                Assert.True(rows[i].RobustAccuracy <= rows[i - 1].RobustAccuracy);
            }
            Assert.Equal(rows[^1].RobustAccuracy, cascade.WorstCaseAccuracy(e)!.Value, 9);
            // Same attacks, fewer images: the worst case agrees with the full run's within attack randomness (2 points).
            Assert.InRange(cascade.WorstCaseAccuracy(e)!.Value - full.WorstCaseAccuracy(e)!.Value, -0.02, 0.02);
            Assert.True(rows.Skip(1).Sum(r => r.Attacked!.Value) < 2 * 300, "the cascade attacked as many images as the full run");
        }
        Assert.Contains("(cumulative)", ReportWriter.ToMarkdown(cascade));
    }

    [Fact]
    public void SquareWithScoresOnlyLowersFullPrecisionAccuracyByThirtyPoints()
    {
        var blackBox = new ScoresOnly(new TorchClassifier(models.Fp));
        var options = new RobustnessOptions
        {
            Attacks = new[] { AttackEntry.Named("Square", squareQueries: 300) }, Epsilons = new[] { 0.2 }, Limit = 200, MaskingChecks = false,
        };
        var report = new RobustnessEvaluator(options).Evaluate(blackBox, models.Test);
        double drop = report.CleanAccuracy - report.RobustAccuracy("Square", 0.2)!.Value;
        Assert.True(drop >= 0.30, $"Square lowered accuracy by only {drop:P1}");
        Assert.InRange(report.Attacks[0].MeanQueries!.Value, 1, 300);
        Assert.Empty(report.Layers); // no model internals for a black box
    }

    [Fact]
    public void QuantizerWithoutStraightThroughIsFlaggedAndWithItIsNot()
    {
        var options = new RobustnessOptions
        {
            Attacks = new[] { AttackEntry.Named("FGSM") }, Epsilons = new[] { 0.05, 0.1 }, Limit = 200, MaskingSubset = 100, Seed = 2,
        };
        var masked = new RobustnessEvaluator(options).Evaluate(new TorchClassifier(models.Vq, QuantizerGradient.None), models.Test);
        Assert.Contains(masked.Warnings, w => w.Contains("zero or non-finite"));
        Assert.Contains(masked.Warnings, w => w.Contains("Square attack beats the white-box"));
        Assert.Equal(masked.CleanAccuracy, masked.RobustAccuracy("FGSM", 0.1)!.Value); // a zero gradient moves nothing

        var honest = new RobustnessEvaluator(options).Evaluate(new TorchClassifier(models.Vq), models.Test);
        Assert.True(honest.Warnings.Count == 0, string.Join("\n", honest.Warnings));
        Assert.True(honest.RobustAccuracy("FGSM", 0.1) < masked.RobustAccuracy("FGSM", 0.1) - 0.2);
    }

    [Fact]
    public void ReportRoundTripsAndPlotsAreValidPngsWithOneLinePerSeries()
    {
        var options = new RobustnessOptions
        {
            Attacks = new[] { AttackEntry.Named("FGSM"), AttackEntry.Named("PGD", steps: 5) }, Epsilons = new[] { 0.05, 0.1 }, Limit = 100,
            MaskingChecks = false, AmplificationEpsilon = 0.1,
        };
        var fp = new RobustnessEvaluator(options).Evaluate(models.Fp, models.Test);
        var vq = new RobustnessEvaluator(options).Evaluate(models.Vq, models.Test);
        Assert.Equal(3, fp.Layers.Count);
        Assert.All(fp.Layers, l => Assert.True(l.Amplification > 0));
        Assert.Equal(4, fp.SpectralNorms.Count);

        var dir = TestData.TempDirectory();
        try
        {
            var json = Path.Combine(dir, "fp.robustness.json");
            ReportWriter.WriteJson(fp, json);
            var text = File.ReadAllText(json);
            Assert.Contains("\"robustAccuracy\"", text);
            Assert.Contains("\"cleanAccuracy\"", text);
            var back = ReportWriter.ReadJson(json);
            Assert.Equal(fp.CleanAccuracy, back.CleanAccuracy);
            Assert.Equal(fp.Attacks, back.Attacks);
            Assert.Equal(fp.WorstCase.Select(w => (w.Epsilon, w.RobustAccuracy)), back.WorstCase.Select(w => (w.Epsilon, w.RobustAccuracy)));
            Assert.Equal(fp.Layers, back.Layers);
            Assert.Equal(ReportWriter.ToJson(fp), ReportWriter.ToJson(back));
            var md = ReportWriter.ToMarkdown(fp);
            Assert.Contains("| FGSM |", md);
            // FGSM and PGD only: the minimum is an upper bound (no score-based attack), and the row says so.
            Assert.Contains("| **upper bound (gradient attacks only)** |", md);
            Assert.DoesNotContain("**worst case**", md);
            Assert.Contains(RobustnessReport.FloatModel, md);
            Assert.All(back.WorstCase, w => Assert.Equal(RobustBound.UpperBound, w.Bound));

            var byAttack = Path.Combine(dir, "attacks.png");
            ReportPlots.RobustAccuracyByAttack(fp, byAttack);
            var byModel = Path.Combine(dir, "models.png");
            ReportPlots.RobustAccuracyByModel(new[] { ("fp", fp), ("vq4", vq) }, byModel);
            var amplification = Path.Combine(dir, "amplification.png");
            ReportPlots.ErrorAmplification(new[] { ("fp", fp), ("vq4", vq) }, amplification);
            // ScottPlot's default palette: blue, orange, green, ... one colour per series.
            Assert.Equal(3, PngProbe.SeriesColours(byAttack)); // FGSM, PGD-5, worst case
            Assert.Equal(2, PngProbe.SeriesColours(byModel));
            Assert.Equal(2, PngProbe.SeriesColours(amplification));
            Assert.Empty(Directory.GetFiles(dir, "*.tmp"));
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [Fact]
    public void AdversarialTrainingRaisesPgdRobustAccuracy()
    {
        using var train = models.Train.Take(1500);
        var plainOptions = new DqTrainerOptions { Epochs = 2, BatchSize = 64, Seed = 9, Threads = TestData.Threads };
        var plain = new DqTrainer(TestData.SmallCnn(TrainingMode.FullPrecision), plainOptions).Fit(train).Model;
        var robust = new DqTrainer(TestData.SmallCnn(TrainingMode.FullPrecision), plainOptions with
        {
            Adversarial = new AdversarialTraining { Method = AdversarialMethod.Pgd, Epsilon = 0.1, Steps = 3, Ratio = 0.5 },
        }).Fit(train).Model;
        var options = new RobustnessOptions { Attacks = new[] { AttackEntry.Named("PGD", steps: 10) }, Epsilons = new[] { 0.1 }, Limit = 300, MaskingChecks = false, AmplificationEpsilon = null };
        double before = new RobustnessEvaluator(options).Evaluate(plain, models.Test).RobustAccuracy("PGD-10", 0.1)!.Value;
        double after = new RobustnessEvaluator(options).Evaluate(robust, models.Test).RobustAccuracy("PGD-10", 0.1)!.Value;
        Assert.True(after > before + 0.05, $"PGD-10 robust accuracy: plain {before:P1}, adversarially trained {after:P1}");
    }

    [Fact]
    public void InputSqueezingSqueezesAndKeepsAStraightThroughGradient()
    {
        using var scope = NewDisposeScope();
        var inner = new TorchClassifier(models.Fp);
        var squeezed = new Defences.InputSqueezing(inner, bitDepth: 2, medianSize: 3);
        var x = models.Test.Images.narrow(0, 0, 16);
        var values = squeezed.Squeeze(new Defences.InputSqueezing(inner, bitDepth: 2).Squeeze(x)).unique().Item1.data<float>().ToArray();
        Assert.All(values, v => Assert.Contains(v, new[] { 0f, 1f / 3, 2f / 3, 1f }));
        using var attack = squeezed.BeginAttack();
        using var enabled = enable_grad();
        var input = x.clone().requires_grad_(true);
        nn.functional.cross_entropy(squeezed.SurrogateLogits(input), models.Test.Labels.narrow(0, 0, 16)).backward();
        Assert.True(input.grad!.abs().sum().item<float>() > 0, "BPDA must pass a gradient through the squeeze");
        Assert.Throws<ArgumentOutOfRangeException>(() => new Defences.InputSqueezing(inner, medianSize: 2));
    }
}

/// <summary>Counts which of ScottPlot's default series colours appear in a PNG.</summary>
internal static class PngProbe
{
    private static readonly (byte R, byte G, byte B)[] Palette =
    {
        (0x1f, 0x77, 0xb4), (0xff, 0x7f, 0x0e), (0x2c, 0xa0, 0x2c), (0xd6, 0x27, 0x28), (0x94, 0x67, 0xbd),
    };

    public static int SeriesColours(string path)
    {
        var bytes = File.ReadAllBytes(path);
        Assert.Equal(new byte[] { 0x89, 0x50, 0x4e, 0x47 }, bytes.AsSpan(0, 4).ToArray());
        using var bitmap = SkiaSharp.SKBitmap.Decode(bytes);
        Assert.True(bitmap.Width > 100 && bitmap.Height > 100);
        var found = new HashSet<int>();
        for (int y = 0; y < bitmap.Height; y += 1)
            for (int x = 0; x < bitmap.Width; x += 1)
            {
                var c = bitmap.GetPixel(x, y);
                for (int i = 0; i < Palette.Length; i++)
                    if (c.Red == Palette[i].R && c.Green == Palette[i].G && c.Blue == Palette[i].B) found.Add(i);
            }
        return found.Count;
    }
}
