using DqMlNet.Attacks;
using DqMlNet.Evaluators;
using static TorchSharp.torch;

namespace DqMlNet.Tests;

/// <summary>
/// Randomness keyed by global image index: any partition of the rows gives bit-identical adversarial images, given a model
/// whose rows do not depend on the batch size (see <see cref="TinyMlp"/>'s rowwise mode).
/// </summary>
public class AttackPartitionTests
{
    private static (Tensor X, Tensor Y) Batch()
    {
        var g = new Generator(99);
        var x = rand(new long[] { 64, 1, 4, 4 }, generator: g);
        var y = new TinyMlp(rowwise: true).Logits(x).argmax(1);
        return (x, y);
    }

    public static TheoryData<string> Attacks => new() { "PGD", "PGD-L2", "APGD-CE", "APGD-T", "Square", "FAB-T", "R+FGSM", "Noise", "Transfer" };

    private static Attack Create(string name) => name switch
    {
        "PGD" => new Pgd(0.1, 10, restarts: 2) { Seed = 3 },
        "PGD-L2" => new Pgd(0.5, 10, norm: AttackNorm.L2) { Seed = 3 },
        "APGD-CE" => new Apgd(0.1, 20, restarts: 2) { Seed = 3 },
        "APGD-T" => new Apgd(0.1, 20, targetClasses: 2) { Seed = 3 },
        "Square" => new SquareAttack(0.1, 200) { Seed = 3 },
        "FAB-T" => new Fab(0.1, 20, targetClasses: 2, restarts: 2) { Seed = 3 },
        "R+FGSM" => new RFgsm(0.1) { Seed = 3 },
        "Noise" => new RandomNoise(0.1) { Seed = 3 },
        "Transfer" => new TransferAttack(new Pgd(0.1, 10) { Seed = 5 }, new TinyMlp(seed: 77, rowwise: true)) { Seed = 3 },
        _ => throw new ArgumentException(name),
    };

    [Theory]
    [MemberData(nameof(Attacks))]
    public void AnyPartitionOfTheRowsGivesBitIdenticalResults(string name)
    {
        using var scope = NewDisposeScope();
        var model = new TinyMlp(rowwise: true); // rows independent of the batch size: what is tested is the attacks' keying
        var (x, y) = Batch();
        var all = Enumerable.Range(0, 64).Select(i => (long)i).ToArray();
        var whole = Create(name).Perturb(model, x, y, globalIndices: all).Adversarial.data<float>().ToArray();

        // Partition 1: two contiguous shards of unequal size, attacked in the opposite order.
        var partition1 = new float[whole.Length];
        foreach (var (start, count) in new[] { (23, 41), (0, 23) })
        {
            var part = Create(name).Perturb(model, x.narrow(0, start, count), y.narrow(0, start, count), batchIndex: 7,
                globalIndices: all.Skip(start).Take(count).ToArray()).Adversarial.data<float>().ToArray();
            Array.Copy(part, 0, partition1, start * 16, count * 16);
        }
        Assert.Equal(whole, partition1);

        // Partition 2: a stride (odd rows, then even rows), as a cascade's survivor set or a strided shard would be.
        var partition2 = new float[whole.Length];
        foreach (int parity in new[] { 1, 0 })
        {
            var rows = all.Where(i => i % 2 == parity).ToArray();
            using var index = tensor(rows);
            var part = Create(name).Perturb(model, x.index_select(0, index), y.index_select(0, index), globalIndices: rows)
                .Adversarial.data<float>().ToArray();
            for (int r = 0; r < rows.Length; r++) Array.Copy(part, r * 16, partition2, rows[r] * 16, 16);
        }
        Assert.Equal(whole, partition2);
    }

    [Fact]
    public void GlobalIndicesMustMatchTheBatch()
    {
        using var scope = NewDisposeScope();
        var (x, y) = Batch();
        var ex = Assert.Throws<ArgumentException>(() => new Pgd(0.1).Perturb(new TinyMlp(), x, y, globalIndices: new long[] { 1, 2 }));
        Assert.Contains("one global index per row", ex.Message);
    }

    [Fact]
    public void EarlyStopOffKeepsTheMaximalLossIterateForEveryRow()
    {
        using var scope = NewDisposeScope();
        var model = new TinyMlp();
        var (x, y) = Batch();
        var early = new Pgd(0.2, 10) { Seed = 3 }.Generate(model, x, y);
        var full = new Pgd(0.2, 10) { Seed = 3, EarlyStop = false }.Generate(model, x, y);
        var lossEarly = AttackLoss.PerExample(model.Logits(early), y, null, LossKind.CrossEntropy);
        var lossFull = AttackLoss.PerExample(model.Logits(full), y, null, LossKind.CrossEntropy);
        // Every row runs every step, so the kept loss is at least the early-stopped one's for every row, and higher overall.
        Assert.True(lossFull.ge(lossEarly.sub(1e-5)).all().item<bool>());
        Assert.True(lossFull.sum().item<float>() > lossEarly.sum().item<float>() + 1);
        Assert.Contains("all steps", new Pgd(0.2, 10) { EarlyStop = false }.Describe());
        var apgdFull = new Apgd(0.2, 20) { Seed = 3, EarlyStop = false }.Generate(model, x, y);
        Assert.True(ThreatModel.PerturbationNorm(apgdFull, x, AttackNorm.LInf).gt(0).all().item<bool>(), "APGD without early stop left a row clean");
    }

    [Fact]
    public void SuitesHaveHonestNamesAndBudgets()
    {
        var auto = AttackSuites.AutoAttack(quantized: true);
        Assert.Equal(new[] { "APGD-CE", "APGD-T", "FAB-T", "Square", "PGD-20-proxy" }, auto.Select(a => a.Name));
        var apgdT = Assert.IsType<Apgd>(auto[1].Create(0.1));
        Assert.Equal((100, 9), (apgdT.Steps, apgdT.TargetClasses));
        Assert.Equal(100, Assert.IsType<Apgd>(auto[0].Create(0.1)).Steps);
        var fab = Assert.IsType<Fab>(auto[2].Create(0.1));
        Assert.Equal((100, 9), (fab.Steps, fab.TargetClasses));
        Assert.Equal(5000, Assert.IsType<SquareAttack>(auto[3].Create(0.1)).Queries);
        Assert.DoesNotContain(AttackSuites.AutoAttack(quantized: false), a => a.SmoothProxy);

        var light = AttackSuites.Light(quantized: false);
        Assert.Equal(new[] { "APGD-CE", "APGD-T", "Square" }, light.Select(a => a.Name));
        Assert.Equal(3, Assert.IsType<Apgd>(light[1].Create(0.1)).TargetClasses);
        Assert.Equal(1000, Assert.IsType<SquareAttack>(light[2].Create(0.1)).Queries);

        // The default suite includes a score-based attack with at least the quickstart's budget (1,000 queries).
        var defaults = new RobustnessOptions().Attacks;
        var square = defaults.Select(a => a.Create(0.1)).OfType<SquareAttack>().Single();
        Assert.True(square.Queries >= 1000);
        Assert.Contains(defaults, a => a.SmoothProxy);
        Assert.Equal(9, Assert.IsType<Fab>(AttackEntry.Named("fab-t").Create(0.1)).TargetClasses);
        Assert.Equal(2000, Assert.IsType<SquareAttack>(AttackEntry.Named("Square", squareQueries: 2000).Create(0.1)).Queries);
        Assert.Equal(4, Assert.IsType<Apgd>(AttackEntry.Named("APGD-T", targetClasses: 4).Create(0.1)).TargetClasses);
    }
}
