using DqMlNet.Attacks;
using Xunit;
using static TorchSharp.torch;

namespace DqMlNet.Tests;

/// <summary>A cancel reaches a running attack within one iteration, not at the end of its batch.</summary>
public sealed class AttackCancellationTests
{
    /// <summary>Counts model calls and cancels the token at the given call: the attack must stop right after.</summary>
    private sealed class CancellingClassifier(IClassifier inner, CancellationTokenSource source, int cancelAtCall) : IClassifier
    {
        public int Calls { get; private set; }
        public long[] InputShape => inner.InputShape;
        public int NumClasses => inner.NumClasses;
        public Device Device => inner.Device;
        public bool HasGradients => inner.HasGradients;
        public bool SurrogateIsExact => inner.SurrogateIsExact;

        public Tensor Logits(Tensor input)
        {
            Count();
            return inner.Logits(input);
        }

        public Tensor SurrogateLogits(Tensor input)
        {
            Count();
            return inner.SurrogateLogits(input);
        }

        public IDisposable BeginAttack() => inner.BeginAttack();

        private void Count()
        {
            if (++Calls == cancelAtCall) source.Cancel();
        }
    }

    public static TheoryData<string> Attacks => new() { "PGD", "APGD-CE", "APGD-T", "FAB-T", "Square", "Transfer" };

    [Theory]
    [MemberData(nameof(Attacks))]
    public void ACancelStopsTheAttackWithinAnIteration(string name)
    {
        using var scope = NewDisposeScope();
        var mlp = new TinyMlp();
        var x = rand(new long[] { 8, 1, 4, 4 }, generator: new Generator(7));
        var y = mlp.Logits(x).argmax(1);
        using var source = new CancellationTokenSource();
        const int cancelAt = 5;
        // Budgets far beyond what the test could wait for, and an ε too small to fool anything (no early finish).
        const double eps = 1e-4;
        var model = new CancellingClassifier(mlp, source, cancelAt);
        Attack attack = name switch
        {
            "PGD" => new Pgd(eps, 100_000),
            "APGD-CE" => new Apgd(eps, 100_000),
            "APGD-T" => new Apgd(eps, 100_000, targetClasses: 2),
            "FAB-T" => new Fab(eps, 100_000, targetClasses: 2),
            "Square" => new SquareAttack(eps, 100_000),
            "Transfer" => new TransferAttack(new Pgd(eps, 100_000), model),
            _ => throw new ArgumentException(name),
        };
        var target = name == "Transfer" ? new TinyMlp(seed: 99) : (IClassifier)model;
        Assert.ThrowsAny<OperationCanceledException>(() => attack.Perturb(target, x, y, cancellationToken: source.Token));
        Assert.True(model.Calls >= cancelAt, "the cancel must happen inside the attack");
        Assert.True(model.Calls <= cancelAt + 3, $"{name} made {model.Calls} model calls; it should stop within an iteration of the cancel at call {cancelAt}");
    }

    [Fact]
    public void AnAlreadyCancelledTokenRunsNothing()
    {
        var mlp = new TinyMlp();
        var model = new CancellingClassifier(mlp, new CancellationTokenSource(), int.MaxValue);
        var x = rand(new long[] { 2, 1, 4, 4 }, generator: new Generator(7));
        Assert.ThrowsAny<OperationCanceledException>(() =>
            new Pgd(0.1, 10).Perturb(model, x, mlp.Logits(x).argmax(1), cancellationToken: new CancellationToken(canceled: true)));
        Assert.Equal(0, model.Calls);
    }
}
