using DqMlNet.Attacks;
using static TorchSharp.torch;

namespace DqMlNet.Tests;

public class AttackGoldenTests
{
    private static (Tensor X, Tensor Y) Batch()
    {
        var g = new Generator(99);
        var x = rand(new long[] { 64, 1, 4, 4 }, generator: g);
        var model = new TinyMlp();
        var y = model.Logits(x).argmax(1); // labels = clean predictions, so every example starts correct
        return (x, y);
    }

    [Fact]
    public void FgsmOnALinearSoftmaxClassifierIsTheClosedForm()
    {
        using var scope = NewDisposeScope();
        var model = new TinyMlp(hidden: false);
        var (x, _) = Batch();
        var y = tensor(Enumerable.Range(0, 64).Select(i => (long)(i % 3)).ToArray());
        const double eps = 0.07;
        var adversarial = new Fgsm(eps).Generate(model, x, y).data<float>().ToArray();

        // ∇ₓ CE = Wᵀ (softmax(z) − e_y) for logits z = W x + b.
        var w = model.W2.data<float>().ToArray();
        var b = model.B2.data<float>().ToArray();
        var xs = x.data<float>().ToArray();
        for (int i = 0; i < 64; i++)
        {
            var z = new double[3];
            for (int k = 0; k < 3; k++) { z[k] = b[k]; for (int d = 0; d < 16; d++) z[k] += w[k * 16 + d] * xs[i * 16 + d]; }
            double max = z.Max(), sum = z.Sum(v => Math.Exp(v - max));
            var p = z.Select(v => Math.Exp(v - max) / sum).ToArray();
            p[i % 3] -= 1;
            for (int d = 0; d < 16; d++)
            {
                double g = 0;
                for (int k = 0; k < 3; k++) g += w[k * 16 + d] * p[k];
                double expected = Math.Clamp(xs[i * 16 + d] + eps * Math.Sign(g), 0, 1);
                Assert.Equal(expected, adversarial[i * 16 + d], 5);
            }
        }
    }

    public static TheoryData<string, int, double> Golden => new()
    {
        // attack, images still correctly classified (of 64), Σ|x' − x| over the batch
        { "FGSM", GoldenValues.Fgsm.Robust, GoldenValues.Fgsm.L1 },
        { "R+FGSM", GoldenValues.RFgsm.Robust, GoldenValues.RFgsm.L1 },
        { "BIM", GoldenValues.Bim.Robust, GoldenValues.Bim.L1 },
        { "PGD", GoldenValues.Pgd.Robust, GoldenValues.Pgd.L1 },
        { "PGD-L2", GoldenValues.PgdL2.Robust, GoldenValues.PgdL2.L1 },
        { "PGD-CW", GoldenValues.PgdCw.Robust, GoldenValues.PgdCw.L1 },
        { "APGD-CE", GoldenValues.ApgdCe.Robust, GoldenValues.ApgdCe.L1 },
        { "APGD-T", GoldenValues.ApgdT.Robust, GoldenValues.ApgdT.L1 },
        { "Square", GoldenValues.Square.Robust, GoldenValues.Square.L1 },
    };

    internal static Attack Create(string name) => name switch
    {
        "FGSM" => new Fgsm(0.1),
        "R+FGSM" => new RFgsm(0.1) { Seed = 3 },
        "BIM" => new Bim(0.1),
        "PGD" => new Pgd(0.1, 10, restarts: 2) { Seed = 3 },
        "PGD-L2" => new Pgd(0.5, 10, norm: AttackNorm.L2) { Seed = 3 },
        "PGD-CW" => new Pgd(0.1, 10, loss: LossKind.Margin) { Seed = 3 },
        "APGD-CE" => new Apgd(0.1, 20) { Seed = 3 },
        "APGD-T" => new Apgd(0.1, 20, targetClasses: 2) { Seed = 3 },
        "Square" => new SquareAttack(0.1, 200) { Seed = 3 },
        _ => throw new ArgumentException(name),
    };

    [Theory]
    [MemberData(nameof(Golden))]
    public void EachAttackReproducesItsGoldenOutput(string name, int robust, double l1)
    {
        using var scope = NewDisposeScope();
        var model = new TinyMlp();
        var (x, y) = Batch();
        var attack = Create(name);
        var adversarial = attack.Generate(model, x, y);
        var (actualRobust, actualL1) = Summary(model, x, y, adversarial);
        Assert.True(actualRobust <= robust, $"{name} got weaker: {actualRobust} robust vs golden {robust} (L1 {actualL1:R})");
        Assert.Equal(robust, actualRobust);
        Assert.Equal(l1, actualL1, 2);
        AssertInThreatModel(attack, x, adversarial);
    }

    internal static (int Robust, double L1) Summary(IClassifier model, Tensor x, Tensor y, Tensor adversarial)
    {
        int robust = (int)model.Logits(adversarial).argmax(1).eq(y).sum().item<long>();
        double l1 = adversarial.sub(x).abs().sum().item<float>();
        return (robust, l1);
    }

    internal static void AssertInThreatModel(Attack attack, Tensor x, Tensor adversarial)
    {
        Assert.True(adversarial.min().item<float>() >= 0 && adversarial.max().item<float>() <= 1);
        double worst = ThreatModel.PerturbationNorm(adversarial, x, attack.Norm).max().item<double>();
        Assert.True(worst <= attack.Epsilon + 1e-6, $"{attack.Name}: ‖δ‖ = {worst} > ε = {attack.Epsilon}");
    }

    [Fact]
    public void TargetedPgdReachesTheTargetAndEpsilonZeroIsTheIdentity()
    {
        using var scope = NewDisposeScope();
        var model = new TinyMlp();
        var (x, y) = Batch();
        var targets = y.add(1).remainder(3);
        var adversarial = new Pgd(0.5, 40) { Seed = 1 }.Generate(model, x, y, targets);
        double hit = model.Logits(adversarial).argmax(1).eq(targets).to_type(ScalarType.Float32).mean().item<float>();
        Assert.True(hit > 0.9, $"targeted PGD hit the target on {hit:P0}");
        Assert.Equal(x.data<float>().ToArray(), new Pgd(0, 10).Generate(model, x, y).data<float>().ToArray());
    }

    [Fact]
    public void GradientAttacksRefuseBlackBoxesWithAnActionableMessage()
    {
        using var scope = NewDisposeScope();
        var (x, y) = Batch();
        var ex = Assert.Throws<InvalidOperationException>(() => new Pgd(0.1).Generate(new ScoresOnly(new TinyMlp()), x, y));
        Assert.Contains("SquareAttack", ex.Message);
        var square = new SquareAttack(0.1, 50) { Seed = 1 }.Perturb(new ScoresOnly(new TinyMlp()), x, y);
        Assert.NotNull(square.Queries);
        Assert.All(square.Queries!, q => Assert.InRange(q, 1, 50));
    }
}
