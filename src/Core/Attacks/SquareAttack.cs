using TorchSharp;
using static TorchSharp.torch;

namespace DqMlNet.Attacks;

/// <summary>
/// Square attack (Andriushchenko et al.), L∞: a score-based black-box random search. It needs only the model's
/// logits/scores — no gradients — so it works on any classifier, including ONNX models, and cannot be fooled by
/// masked gradients. Starts from vertical stripes of ±ε, then proposes ±ε squares whose size shrinks on a fixed
/// schedule, keeping a proposal when it lowers the margin; stops per example once it is misclassified.
/// </summary>
public sealed class SquareAttack : Attack
{
    /// <summary>Creates the attack with a per-example query budget.</summary>
    public SquareAttack(double epsilon, int queries = 1000, double pInit = 0.8) : base("Square", epsilon, AttackNorm.LInf)
    {
        if (queries < 1) throw new ArgumentOutOfRangeException(nameof(queries), queries, "The query budget must be at least 1.");
        if (!(pInit > 0 && pInit <= 1)) throw new ArgumentOutOfRangeException(nameof(pInit), pInit, "pInit must be in (0, 1].");
        Queries = queries;
        PInit = pInit;
    }

    /// <summary>Query budget per example (including the initial one).</summary>
    public int Queries { get; }

    /// <summary>Initial fraction of pixels a square covers.</summary>
    public double PInit { get; }

    /// <inheritdoc />
    public override bool NeedsGradients => false;

    /// <inheritdoc />
    public override string Describe() => $"Square (L∞, ε = {Epsilon:0.####}, {Queries} queries, p_init = {PInit})";

    /// <inheritdoc />
    protected override AttackOutput Run(IClassifier model, Tensor x, Tensor y, Tensor? target, Generator generator)
    {
        using var noGrad = no_grad();
        long n = x.shape[0], c = x.shape[1], h = x.shape[2], w = x.shape[3];
        var rng = new Random((int)(generator.initial_seed() & 0x7fffffff));
        var queries = new long[n];

        // Objective to minimise: the margin of the true class (or of the best non-target class); < 0 means fooled.
        Tensor Margin(Tensor logits, Tensor idx) => target is null
            ? AttackLoss.Margin(logits, y.index_select(0, idx)).neg()
            : AttackLoss.Margin(logits, target.index_select(0, idx));

        var all = arange(n, device: x.device);
        var stripes = RandomSigns(new[] { n, c, 1L, w }, generator, x.device).mul(Epsilon);
        var best = x.add(stripes).clamp(0f, 1f);
        var bestMargin = Margin(model.Logits(best), all);
        for (int i = 0; i < n; i++) queries[i] = 1;

        for (int iteration = 0; iteration < Queries - 1; iteration++)
        {
            using var scope = NewDisposeScope();
            var active = bestMargin.gt(0).nonzero().squeeze(1);
            if (active.numel() == 0) break;
            var xa = x.index_select(0, active);
            var bestA = best.index_select(0, active);

            double p = SquareFraction(iteration);
            int s = (int)Math.Clamp(Math.Round(Math.Sqrt(p * h * w)), 1, Math.Max(1, Math.Min(h, w) - 1));
            int top = rng.Next((int)h - s + 1), left = rng.Next((int)w - s + 1);
            var signs = RandomSigns(new[] { active.shape[0], c, 1L, 1L }, generator, x.device).mul(2 * Epsilon);
            var window = zeros(new[] { 1L, 1L, h, w }, device: x.device);
            window[.., .., TensorIndex.Slice(top, top + s), TensorIndex.Slice(left, left + s)] = tensor(1f);
            var candidate = ThreatModel.Project(bestA.add(signs.mul(window)), xa, Epsilon, AttackNorm.LInf);

            var margin = Margin(model.Logits(candidate), active);
            var improved = margin.lt(bestMargin.index_select(0, active));
            var newBest = torch.where(improved.reshape(-1, 1, 1, 1), candidate, bestA);
            var newMargin = torch.where(improved, margin, bestMargin.index_select(0, active));
            best = best.index_copy(0, active, newBest).MoveToOuterDisposeScope();
            bestMargin = bestMargin.index_copy(0, active, newMargin).MoveToOuterDisposeScope();
            foreach (long i in active.cpu().data<long>()) queries[i]++;
        }
        return new AttackOutput(best, queries);
    }

    /// <summary>Fraction of pixels a square covers at an iteration: p_init halved at AutoAttack's milestones.</summary>
    private double SquareFraction(int iteration)
    {
        int it = (int)(iteration / (double)Queries * 10000);
        int halvings = it switch
        {
            <= 10 => 0, <= 50 => 1, <= 200 => 2, <= 500 => 3, <= 1000 => 4, <= 2000 => 5, <= 4000 => 6, <= 6000 => 7, <= 8000 => 8, _ => 9,
        };
        return PInit / (1 << halvings);
    }

    private static Tensor RandomSigns(long[] shape, Generator generator, Device device) =>
        rand(shape, generator: generator).gt(0.5).to_type(ScalarType.Float32).mul(2).sub(1).to(device);
}
