using DqMlNet.Attacks;
using DqMlNet.TorchTraining;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace DqMlNet.Tests;

/// <summary>Attacks at their published strength: transfer crafted for all steps, PGD-AT, reference Square, FAB-T.</summary>
public class AttackStrengthTests(AttackModels models, ITestOutputHelper output) : IClassFixture<AttackModels>
{
    private const int Images = 300;

    private static double Accuracy(IClassifier model, Tensor x, Tensor y)
    {
        using var noGrad = no_grad();
        using var state = model.BeginAttack();
        return model.Logits(x).argmax(1).eq(y).to_type(ScalarType.Float64).mean().item<double>();
    }

    private (Tensor X, Tensor Y) Batch(int n = Images) => (models.Test.Images.narrow(0, 0, n), models.Test.Labels.narrow(0, 0, n));

    [Fact]
    public void TransferCraftedForAllStepsIsFarStrongerThanEarlyStopCrafting()
    {
        using var scope = NewDisposeScope();
        var (x, y) = Batch();
        var substitute = new TorchClassifier(models.FpA);
        var target = new TorchClassifier(models.FpB);
        var indices = Enumerable.Range(0, Images).Select(i => (long)i).ToArray();
        var full = new Dictionary<double, double>();
        var early = new Dictionary<double, double>();
        foreach (double eps in new[] { 0.05, 0.1 })
        {
            // What TransferAttack used to do: the inner PGD with the evaluation's early stop.
            var earlyStop = new Pgd(eps, 20) { Seed = 1 }.Perturb(substitute, x, y, globalIndices: indices).Adversarial;
            var transfer = new TransferAttack(new Pgd(eps, 20) { Seed = 1 }, substitute, "FP seed 101");
            var allSteps = transfer.Perturb(target, x, y, globalIndices: indices).Adversarial;
            early[eps] = Accuracy(target, earlyStop, y);
            full[eps] = Accuracy(target, allSteps, y);
            AttackGoldenTests.AssertInThreatModel(transfer, x, allSteps);
        }
        output.WriteLine($"clean target {Accuracy(target, x, y):P1}; early-stop crafting 0.05/0.1: {early[0.05]:P1}/{early[0.1]:P1}; " +
                         $"all-step crafting: {full[0.05]:P1}/{full[0.1]:P1}");
        Assert.True(full[0.1] <= early[0.1] - 0.15, $"ε = 0.1: all-step {full[0.1]:P1} vs early-stop {early[0.1]:P1}");
        Assert.True(full[0.1] < full[0.05], $"all-step transfer not monotone: {full[0.05]:P1} at 0.05, {full[0.1]:P1} at 0.1");
        // Reports describe the crafting as it runs: the inner PGD's own early stop is overridden, so it is not printed.
        var description = new TransferAttack(new Pgd(0.1, 20), substitute, "FP seed 101").Describe();
        Assert.Contains("all steps, max-loss iterate", description);
        Assert.DoesNotContain("early stop", description);
        Assert.Contains("early stop", new Pgd(0.1, 20).Describe());
    }

    [Fact]
    public void MomentumAndEnsembleTransferAreStrongerThanTheCleanImage()
    {
        using var scope = NewDisposeScope();
        var (x, y) = Batch(100);
        var target = new TorchClassifier(models.FpB);
        var ensemble = new TransferAttack(new MiFgsm(0.1, 10), new IClassifier[] { new TorchClassifier(models.FpA), new TorchClassifier(models.Vq2) });
        double clean = Accuracy(target, x, y);
        var adversarial = ensemble.Perturb(target, x, y).Adversarial;
        double robust = Accuracy(target, adversarial, y);
        output.WriteLine($"MI-FGSM-10 from FP+VQ-2 ensemble at ε = 0.1: clean {clean:P1} → {robust:P1}");
        Assert.True(robust < clean - 0.1, $"ensemble MI-FGSM transfer: {clean:P1} → {robust:P1}");
        AttackGoldenTests.AssertInThreatModel(ensemble, x, adversarial);
    }

    [Fact]
    public void PgdAdversarialTrainingPerturbsEveryExampleIncludingMisclassifiedOnes()
    {
        using var scope = NewDisposeScope();
        var (x, y) = Batch(256);
        var model = models.Vq2;
        var classifier = new TorchClassifier(model);
        Tensor wrong;
        using (no_grad()) { using var state = classifier.BeginAttack(); wrong = classifier.Logits(x).argmax(1).ne(y); }
        long misclassified = wrong.sum().item<long>();
        var settings = new AdversarialTraining { Epsilon = 0.1, Steps = 7 };
        var crafted = settings.Craft(model, x, y, seed: 9);
        var moved = ThreatModel.PerturbationNorm(crafted, x, AttackNorm.LInf);
        long perturbed = moved.gt(0.99 * settings.Epsilon).sum().item<long>();
        long misclassifiedPerturbed = moved.gt(0.99 * settings.Epsilon).logical_and(wrong).sum().item<long>();
        // The evaluation's early-stopping PGD leaves the rows the model already gets wrong untouched.
        var earlyStop = new Pgd(0.1, 7) { Seed = 9 }.Generate(classifier, x, y);
        long untouched = ThreatModel.PerturbationNorm(earlyStop, x, AttackNorm.LInf).eq(0).logical_and(wrong).sum().item<long>();
        output.WriteLine($"{misclassified} of 256 rows misclassified before crafting; PGD-AT perturbed {perturbed} rows " +
                         $"({misclassifiedPerturbed} misclassified); early-stop PGD left {untouched} misclassified rows clean");
        Assert.True(misclassified > 0, "the fixture model misclassifies nothing: the test would not see the difference");
        Assert.Equal(256, perturbed);
        Assert.Equal(misclassified, misclassifiedPerturbed);
        Assert.Equal(misclassified, untouched);
    }

    [Fact]
    public void SquareNeverSpendsAQueryOnAnUnchangedImage()
    {
        using var scope = NewDisposeScope();
        var (x, y) = Batch(12);
        var model = new TorchClassifier(models.Vq2);
        int newNoOps = 0, oldNoOps = 0, newQueries = 0;
        for (int i = 0; i < 12; i++)
        {
            var xi = x.narrow(0, i, 1);
            var yi = y.narrow(0, i, 1);
            var audit = new NoOpAuditor(model, yi);
            new SquareAttack(0.1, 100) { Seed = 4 }.Perturb(audit, xi, yi, globalIndices: new long[] { i });
            newNoOps += audit.NoOps;
            newQueries += audit.Queries;
            var legacy = new NoOpAuditor(model, yi);
            LegacySquare.Run(legacy, xi, yi, 0.1, 100, seed: 4 + i);
            oldNoOps += legacy.NoOps;
        }
        output.WriteLine($"no-op queries: new {newNoOps} of {newQueries}, previous implementation {oldNoOps}");
        Assert.True(newQueries > 12 * 10, $"too few queries to judge ({newQueries})");
        Assert.Equal(0, newNoOps);
        Assert.True(oldNoOps > 0, "the previous implementation spent no query on a no-op here: the test would not catch a regression");
    }

    [Fact]
    public void SquareIsAtLeastAsStrongAsThePreviousImplementationOnATwoBitModel()
    {
        using var scope = NewDisposeScope();
        var (x, y) = Batch();
        var model = new TorchClassifier(models.Vq2);
        var indices = Enumerable.Range(0, Images).Select(i => (long)i).ToArray();
        double clean = Accuracy(model, x, y);
        var lines = new List<string>();
        double newSum = 0, oldSum = 0;
        foreach (double eps in new[] { 0.05, 0.1 })
        {
            var attack = new SquareAttack(eps, 300) { Seed = 0 };
            var output1 = attack.Perturb(model, x, y, globalIndices: indices);
            double now = Accuracy(model, output1.Adversarial, y);
            double before = Accuracy(model, LegacySquare.Run(model, x, y, eps, 300, seed: 0), y);
            AttackGoldenTests.AssertInThreatModel(attack, x, output1.Adversarial);
            Assert.All(output1.Queries!, q => Assert.InRange(q, 1, 300));
            lines.Add($"ε = {eps}: new {now:P1}, previous {before:P1}");
            newSum += now;
            oldSum += before;
        }
        output.WriteLine($"VQ-2 clean {clean:P1}; Square 300 queries: " + string.Join("; ", lines));
        Assert.True(newSum <= oldSum, "Square got weaker than the previous implementation: " + string.Join("; ", lines));
    }

    [Fact]
    public void FabTargetedFoolsWithinTheBallAndIsDeterministic()
    {
        using var scope = NewDisposeScope();
        var (x, y) = Batch(60);
        var model = new TorchClassifier(models.FpA);
        var fab = new Fab(0.15, steps: 20, targetClasses: 3, restarts: 2) { Seed = 3 };
        var indices = Enumerable.Range(0, 60).Select(i => (long)i).ToArray();
        var first = fab.Perturb(model, x, y, globalIndices: indices).Adversarial;
        var second = fab.Perturb(model, x, y, globalIndices: indices).Adversarial;
        double clean = Accuracy(model, x, y), robust = Accuracy(model, first, y);
        var small = new Fab(0.02, steps: 20, targetClasses: 3) { Seed = 3 }.Generate(model, x, y);
        double robustSmall = Accuracy(model, small, y);
        output.WriteLine($"FAB-T on FP: clean {clean:P1}, ε = 0.02: {robustSmall:P1}, ε = 0.15: {robust:P1}");
        AttackGoldenTests.AssertInThreatModel(fab, x, first);
        Assert.Equal(first.data<float>().ToArray(), second.data<float>().ToArray());
        Assert.True(robust < clean / 3, $"FAB-T at ε = 0.15 left {robust:P1} (clean {clean:P1})");
        Assert.True(robust <= robustSmall && robustSmall <= clean, $"FAB-T not monotone in ε: {clean:P1}, {robustSmall:P1}, {robust:P1}");
    }

    /// <summary>Records every scored batch of one image and checks it differs from the attack's current best.</summary>
    private sealed class NoOpAuditor(IClassifier inner, Tensor label) : IClassifier
    {
        private Tensor? best;
        private float bestMargin = float.PositiveInfinity;

        public int NoOps { get; private set; }
        public int Queries { get; private set; }
        public long[] InputShape => inner.InputShape;
        public int NumClasses => inner.NumClasses;
        public Device Device => inner.Device;
        public bool HasGradients => false;
        public bool SurrogateIsExact => false;

        public Tensor Logits(Tensor input)
        {
            var logits = inner.Logits(input);
            Queries++;
            float margin = AttackLoss.Margin(logits, label).neg().item<float>();
            if (best is not null && !input.ne(best).any().item<bool>()) NoOps++;
            if (best is null || margin < bestMargin)
            {
                best?.Dispose();
                best = input.clone().DetachFromDisposeScope();
                bestMargin = margin;
            }
            return logits;
        }

        public Tensor SurrogateLogits(Tensor input) => throw new InvalidOperationException("scores only");

        public IDisposable BeginAttack() => inner.BeginAttack();
    }
}
