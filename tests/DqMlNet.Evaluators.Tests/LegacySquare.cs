using DqMlNet.Attacks;
using static TorchSharp.torch;

namespace DqMlNet.Tests;

/// <summary>
/// The Square attack as the library implemented it before it was aligned with the reference (one window per batch, no
/// re-draw of no-op signs, window positions up to H − s), kept only as a baseline the new implementation must match or
/// beat at the same budget.
/// </summary>
internal static class LegacySquare
{
    public static Tensor Run(IClassifier model, Tensor x, Tensor y, double epsilon, int queryBudget, long seed, double pInit = 0.8)
    {
        using var noGrad = no_grad();
        using var attack = model.BeginAttack();
        long n = x.shape[0], c = x.shape[1], h = x.shape[2], w = x.shape[3];
        var generator = new Generator((ulong)seed);
        var rng = new Random((int)(seed & 0x7fffffff));
        Tensor Margin(Tensor logits, Tensor idx) => AttackLoss.Margin(logits, y.index_select(0, idx)).neg();

        var all = arange(n);
        var stripes = RandomSigns(new[] { n, c, 1L, w }, generator).mul(epsilon);
        var best = x.add(stripes).clamp(0f, 1f);
        var bestMargin = Margin(model.Logits(best), all);
        for (int iteration = 0; iteration < queryBudget - 1; iteration++)
        {
            using var scope = NewDisposeScope();
            var active = bestMargin.gt(0).nonzero().squeeze(1);
            if (active.numel() == 0) break;
            var xa = x.index_select(0, active);
            var bestA = best.index_select(0, active);
            double p = Fraction(iteration, queryBudget, pInit);
            int s = (int)Math.Clamp(Math.Round(Math.Sqrt(p * h * w)), 1, Math.Max(1, Math.Min(h, w) - 1));
            int top = rng.Next((int)h - s + 1), left = rng.Next((int)w - s + 1);
            var signs = RandomSigns(new[] { active.shape[0], c, 1L, 1L }, generator).mul(2 * epsilon);
            var window = zeros(new[] { 1L, 1L, h, w });
            window[.., .., TensorIndex.Slice(top, top + s), TensorIndex.Slice(left, left + s)] = tensor(1f);
            var candidate = ThreatModel.Project(bestA.add(signs.mul(window)), xa, epsilon, AttackNorm.LInf);
            var margin = Margin(model.Logits(candidate), active);
            var improved = margin.lt(bestMargin.index_select(0, active));
            var newBest = TorchSharp.torch.where(improved.reshape(-1, 1, 1, 1), candidate, bestA);
            var newMargin = TorchSharp.torch.where(improved, margin, bestMargin.index_select(0, active));
            best = best.index_copy(0, active, newBest).MoveToOuterDisposeScope();
            bestMargin = bestMargin.index_copy(0, active, newMargin).MoveToOuterDisposeScope();
        }
        return best;
    }

    private static double Fraction(int iteration, int budget, double pInit)
    {
        int it = (int)(iteration / (double)budget * 10000);
        int halvings = it switch
        {
            <= 10 => 0, <= 50 => 1, <= 200 => 2, <= 500 => 3, <= 1000 => 4, <= 2000 => 5, <= 4000 => 6, <= 6000 => 7, <= 8000 => 8, _ => 9,
        };
        return pInit / (1 << halvings);
    }

    private static Tensor RandomSigns(long[] shape, Generator generator) =>
        rand(shape, generator: generator).gt(0.5).to_type(ScalarType.Float32).mul(2).sub(1);
}
