using TorchSharp;
using static TorchSharp.torch;

namespace DqMlNet.Attacks;

/// <summary>
/// Square attack (Andriushchenko et al. 2020), L∞, as in the reference implementation: a score-based black-box random
/// search that needs only the model's scores — no gradients — so it works on any classifier, including ONNX models,
/// and cannot be fooled by masked gradients. It starts from vertical stripes of ±ε; each iteration, every example still
/// classified correctly gets a square window at its own random position (anywhere in the image), of side
/// s = max(round(√(p·H·W)), 1) capped at min(H, W) − 1, with a random ±2ε shift per channel, projected on the ε-ball
/// and [0, 1]; the proposal is kept when it strictly lowers the margin z_y − max_{j≠y} z_j. p follows the reference
/// schedule (p_init halved at fixed fractions of the budget). A sign that clipping would turn into a no-op is
/// re-drawn, so no query is spent on an unchanged image. Stops per example once it is misclassified.
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

    // Sign draws per window before giving up on finding a proposal that changes the image (2^-64 odds for one channel).
    private const int MaxSignDraws = 64;

    /// <inheritdoc />
    protected override AttackOutput Run(IClassifier model, Tensor x, Tensor y, Tensor? target, AttackContext context)
    {
        using var noGrad = no_grad();
        long n = x.shape[0], c = x.shape[1], h = x.shape[2], w = x.shape[3];
        var random = context.Random;
        var queries = new long[n];
        var lower = x.sub(Epsilon).clamp_min(0f);
        var upper = x.add(Epsilon).clamp_max(1f);

        // Objective to minimise: the margin of the true class (or of the best non-target class); ≤ 0 means fooled.
        Tensor Margin(Tensor logits, Tensor idx) => target is null
            ? AttackLoss.Margin(logits, y.index_select(0, idx)).neg()
            : AttackLoss.Margin(logits, target.index_select(0, idx));

        var all = arange(n, device: x.device);
        var stripes = random.Signs(RowRandom.Stream(RandomPurpose.SquareInit, 0), new[] { c, 1L, w }, x.device).mul(Epsilon);
        var best = x.add(stripes).clamp(0f, 1f);
        var bestMargin = Margin(model.Logits(best), all);
        for (int i = 0; i < n; i++) queries[i] = 1;

        var rowsH = arange(h, device: x.device).reshape(1, 1, h, 1);
        var colsW = arange(w, device: x.device).reshape(1, 1, 1, w);
        for (int iteration = 0; iteration < Queries - 1; iteration++)
        {
            context.CancellationToken.ThrowIfCancellationRequested();
            using var scope = NewDisposeScope();
            var active = bestMargin.gt(0).nonzero().squeeze(1);
            if (active.numel() == 0) break;
            long na = active.shape[0];
            var rowsActive = active.cpu().data<long>().ToArray();
            var activeRandom = random.Subset(active);
            var bestA = best.index_select(0, active);

            int s = SquareSide(iteration, h, w);
            // Each example draws its own window (the reference samples one per image); from its own random stream.
            var tops = new long[na];
            var lefts = new long[na];
            long windowStream = RowRandom.Stream(RandomPurpose.SquareWindow, iteration);
            for (int r = 0; r < na; r++)
            {
                // Every position, up to H − s inclusive: the reference's randint(0, H − s) never reaches the last row and
                // column, which on small images leaves a quarter of the pixels at their initial stripes.
                tops[r] = activeRandom.NextInt(r, windowStream, 0, (int)(h - s + 1));
                lefts[r] = activeRandom.NextInt(r, windowStream, 1, (int)(w - s + 1));
            }
            // Window bounds as tensors built from the arrays (no scalar arithmetic on integer tensors in this loop).
            var top = tensor(tops, device: x.device).reshape(-1, 1, 1, 1);
            var left = tensor(lefts, device: x.device).reshape(-1, 1, 1, 1);
            var bottom = tensor(tops.Select(t => t + s).ToArray(), device: x.device).reshape(-1, 1, 1, 1);
            var right = tensor(lefts.Select(l => l + s).ToArray(), device: x.device).reshape(-1, 1, 1, 1);
            var window = rowsH.ge(top).logical_and(rowsH.lt(bottom)).logical_and(colsW.ge(left)).logical_and(colsW.lt(right));

            // What +2ε and −2ε would make of each pixel after projection, and per channel whether that changes anything
            // inside the window: a proposal whose every channel is a no-op would waste a query.
            var lowerA = lower.index_select(0, active);
            var upperA = upper.index_select(0, active);
            var plus = torch.min(bestA.add(2 * Epsilon), upperA);
            var minus = torch.max(bestA.sub(2 * Epsilon), lowerA);
            var plusChanges = plus.ne(bestA).logical_and(window).flatten(2).any(2).cpu().data<bool>().ToArray();
            var minusChanges = minus.ne(bestA).logical_and(window).flatten(2).any(2).cpu().data<bool>().ToArray();

            var signs = new float[na * c];
            var proposes = new bool[na];
            long signStream = RowRandom.Stream(RandomPurpose.SquareSign, iteration);
            for (int r = 0; r < na; r++)
            {
                for (int draw = 0; draw < MaxSignDraws && !proposes[r]; draw++)
                {
                    for (int ch = 0; ch < c; ch++)
                    {
                        bool up = activeRandom.UniformDouble(r, signStream, draw * c + ch) >= 0.5;
                        signs[r * c + ch] = up ? 1f : -1f;
                        if (up ? plusChanges[r * c + ch] : minusChanges[r * c + ch]) proposes[r] = true;
                    }
                }
            }
            var queried = Enumerable.Range(0, (int)na).Where(r => proposes[r]).Select(r => (long)r).ToArray();
            if (queried.Length == 0) continue; // nothing any example could change at this square size: no query spent
            var q = tensor(queried, device: x.device);
            var up4 = tensor(signs, new[] { na, c, 1L, 1L }).to(x.device).gt(0).index_select(0, q);
            var candidate = torch.where(window.index_select(0, q),
                torch.where(up4, plus.index_select(0, q), minus.index_select(0, q)), bestA.index_select(0, q));

            var queriedRows = active.index_select(0, q);
            var margin = Margin(model.Logits(candidate), queriedRows);
            var previous = bestMargin.index_select(0, queriedRows);
            var improved = margin.lt(previous);
            var newBest = torch.where(improved.reshape(-1, 1, 1, 1), candidate, best.index_select(0, queriedRows));
            var newMargin = torch.where(improved, margin, previous);
            best = best.index_copy(0, queriedRows, newBest).MoveToOuterDisposeScope();
            bestMargin = bestMargin.index_copy(0, queriedRows, newMargin).MoveToOuterDisposeScope();
            foreach (long r in queried) queries[rowsActive[r]]++;
        }
        return new AttackOutput(best, queries);
    }

    /// <summary>
    /// Side of the square at an iteration: s = max(round(√(p·H·W)), 1), at most min(H, W) − 1 so that windows can move.
    /// </summary>
    private int SquareSide(int iteration, long h, long w)
    {
        double p = SquareFraction(iteration);
        int s = Math.Max((int)Math.Round(Math.Sqrt(p * h * w), MidpointRounding.ToEven), 1);
        return (int)Math.Max(1, Math.Min(s, Math.Min(h, w) - 1));
    }

    /// <summary>
    /// Fraction of pixels a square covers at an iteration: p_init halved at the reference's milestones, which are
    /// defined for 10,000 iterations and rescaled to the budget.
    /// </summary>
    private double SquareFraction(int iteration)
    {
        int it = (int)(iteration / (double)Queries * 10000);
        int halvings = it switch
        {
            <= 10 => 0, <= 50 => 1, <= 200 => 2, <= 500 => 3, <= 1000 => 4, <= 2000 => 5, <= 4000 => 6, <= 6000 => 7, <= 8000 => 8, _ => 9,
        };
        return PInit / (1 << halvings);
    }
}
