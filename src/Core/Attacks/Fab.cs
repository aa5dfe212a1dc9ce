using TorchSharp;
using static TorchSharp.torch;

namespace DqMlNet.Attacks;

/// <summary>
/// FAB-T, L∞ (Croce &amp; Hein 2020, "Minimally distorted adversarial examples with a fast adaptive boundary attack"), as
/// in AutoAttack's standard suite: for each of the <see cref="TargetClasses"/> highest-scoring wrong classes in turn,
/// it linearises the decision boundary between the true class y and the target t at the current iterate
/// (z_t − z_y ≈ f + ∇f·(x' − x₁)), projects both the iterate and the clean image onto that hyperplane within the [0, 1]
/// box, and moves to a convex combination of the two projections (weight α ≤ α_max = 0.1 on the clean image's,
/// extrapolated by η = 1.05). Whenever an iterate is misclassified it is kept if it is the closest so far and the
/// search steps back towards the clean image by β = 0.9. Restarts after the first start from a random point of the
/// ε/2-ball. The attack finds minimally distorted examples; only those within ε count as success (others keep the
/// clean image). Gradients of z_t − z_y come from autograd through the classifier's surrogate; success is judged on
/// its logits.
/// </summary>
public sealed class Fab : Attack
{
    /// <summary>Creates FAB-T (L∞).</summary>
    /// <param name="epsilon">L∞ budget in [0, 1] pixel units.</param>
    /// <param name="steps">Iterations per target and restart (AutoAttack: 100).</param>
    /// <param name="targetClasses">How many of the highest-scoring wrong classes are targeted in turn (AutoAttack: 9).</param>
    /// <param name="restarts">Runs per target; the first from the clean image, later ones from random points.</param>
    /// <param name="alphaMax">Largest weight of the clean image's projection (0.1).</param>
    /// <param name="eta">Extrapolation factor of the projection step (1.05).</param>
    /// <param name="beta">Backward step towards the clean image after a success (0.9).</param>
    public Fab(double epsilon, int steps = 100, int targetClasses = 9, int restarts = 1, double alphaMax = 0.1, double eta = 1.05, double beta = 0.9)
        : base("FAB-T", epsilon, AttackNorm.LInf)
    {
        if (steps < 1) throw new ArgumentOutOfRangeException(nameof(steps), steps, "FAB needs at least one iteration.");
        if (targetClasses < 1) throw new ArgumentOutOfRangeException(nameof(targetClasses), targetClasses, "FAB-T needs at least one target class.");
        if (restarts < 1) throw new ArgumentOutOfRangeException(nameof(restarts), restarts, "Restarts must be at least 1.");
        if (!(alphaMax >= 0 && alphaMax <= 1)) throw new ArgumentOutOfRangeException(nameof(alphaMax), alphaMax, "α_max must be in [0, 1].");
        if (!(eta >= 1 && double.IsFinite(eta))) throw new ArgumentOutOfRangeException(nameof(eta), eta, "η must be ≥ 1.");
        if (!(beta > 0 && beta <= 1)) throw new ArgumentOutOfRangeException(nameof(beta), beta, "β must be in (0, 1].");
        Steps = steps;
        TargetClasses = targetClasses;
        Restarts = restarts;
        AlphaMax = alphaMax;
        Eta = eta;
        Beta = beta;
    }

    /// <summary>Iterations per target and restart.</summary>
    public int Steps { get; }

    /// <summary>Number of target classes (the top wrong classes of the clean logits).</summary>
    public int TargetClasses { get; }

    /// <summary>Runs per target.</summary>
    public int Restarts { get; }

    /// <summary>Largest weight of the clean image's projection.</summary>
    public double AlphaMax { get; }

    /// <summary>Extrapolation factor.</summary>
    public double Eta { get; }

    /// <summary>Backward step after a success.</summary>
    public double Beta { get; }

    /// <inheritdoc />
    public override string Describe() =>
        $"FAB-T (L∞, ε = {Epsilon:0.####}, {Steps} iterations, {TargetClasses} target classes, {Restarts} restart(s), " +
        $"α_max = {AlphaMax}, η = {Eta}, β = {Beta})";

    /// <inheritdoc />
    protected override AttackOutput Run(IClassifier model, Tensor x, Tensor y, Tensor? target, AttackContext context)
    {
        Tensor cleanLogits;
        using (no_grad()) cleanLogits = model.Logits(x);
        var ranked = cleanLogits.argsort(1, descending: true);
        var best = x.clone();
        // Only images classified correctly are attacked (the others are already adversarial).
        var robust = cleanLogits.argmax(1).eq(y);
        int k = Math.Min(TargetClasses, model.NumClasses - 1);
        for (int t = 1; t <= k; t++)
        {
            for (int r = 0; r < Restarts; r++)
            {
                using var scope = NewDisposeScope();
                var index = robust.nonzero().squeeze(1);
                if (index.numel() == 0) return new AttackOutput(best);
                // target is ignored: FAB-T picks its targets from the clean ranking, as in AutoAttack.
                var targets = (target ?? ranked.select(1, t)).index_select(0, index);
                var random = r == 0 ? null : context.Random.Subset(index);
                var (adversarial, distance) = RunOnce(model, x.index_select(0, index), y.index_select(0, index), targets, random,
                    RowRandom.Stream(RandomPurpose.FabStart, t * 1000L + r), context.CancellationToken);
                Tensor fooled;
                using (no_grad()) fooled = model.Logits(adversarial).argmax(1).ne(y.index_select(0, index)).logical_and(distance.le(Epsilon + 1e-6));
                var rows = index.masked_select(fooled);
                best = best.index_copy(0, rows, adversarial.index_select(0, fooled.nonzero().squeeze(1))).MoveToOuterDisposeScope();
                robust = robust.index_fill(0, rows, false).MoveToOuterDisposeScope();
            }
            if (target is not null) break;
        }
        return new AttackOutput(best);
    }

    /// <summary>One FAB run on correctly classified images; returns the closest adversarial found and its L∞ distance (∞: none).</summary>
    private (Tensor Adversarial, Tensor Distance) RunOnce(IClassifier model, Tensor x0, Tensor y, Tensor targets, RowRandom? random, long stream,
        CancellationToken cancellationToken)
    {
        using var outer = NewDisposeScope();
        long n = x0.shape[0];
        var flat0 = x0.flatten(1);
        var adversarial = x0.clone();
        var distance = full(new[] { n }, 1e10, dtype: ScalarType.Float64, device: x0.device);
        var x1 = x0.clone();
        if (random is not null)
        {
            // Uniform direction scaled to L∞ radius ε/2, as in the reference.
            var u = random.Uniform(stream, x0.shape.Skip(1).ToArray(), x0.device).mul(2).sub(1);
            var scale = u.flatten(1).abs().amax(new long[] { 1 }).clamp_min(1e-12).reshape(-1, 1, 1, 1);
            x1 = x0.add(u.div(scale).mul(0.5 * Epsilon)).clamp(0f, 1f);
        }
        for (int i = 0; i < Steps; i++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            using var scope = NewDisposeScope();
            var (f, gradient) = DifferenceAndGradient(model, x1, y, targets);
            var w = gradient.flatten(1);
            var b = w.mul(x1.flatten(1)).sum(1).sub(f);
            var d3 = ProjectLinf(cat(new[] { x1.flatten(1), flat0 }, 0), cat(new[] { w, w }, 0), cat(new[] { b, b }, 0));
            var d1 = d3.narrow(0, 0, n).reshape(x0.shape);
            var d2 = d3.narrow(0, n, n).reshape(x0.shape);
            var a0 = d3.abs().amax(new long[] { 1 }).clamp_min(1e-8f).reshape(-1, 1, 1, 1);
            var a1 = a0.narrow(0, 0, n);
            var a2 = a0.narrow(0, n, n);
            var alpha = a1.div(a1.add(a2)).clamp(0.0, AlphaMax);
            var next = x1.add(d1.mul(Eta)).mul(alpha.neg().add(1)).add(x0.add(d2.mul(Eta)).mul(alpha)).clamp(0f, 1f);

            Tensor isAdversarial;
            using (no_grad()) isAdversarial = model.Logits(next).argmax(1).ne(y);
            var norm = next.sub(x0).flatten(1).abs().amax(new long[] { 1 }).to_type(ScalarType.Float64);
            var closer = isAdversarial.logical_and(norm.lt(distance));
            adversarial = torch.where(closer.reshape(-1, 1, 1, 1), next, adversarial).MoveToOuterDisposeScope();
            distance = torch.where(closer, norm, distance).MoveToOuterDisposeScope();
            // After a success, step back towards the clean image to look for a closer adversarial.
            x1 = torch.where(isAdversarial.reshape(-1, 1, 1, 1), x0.add(next.sub(x0).mul(Beta)), next).MoveToOuterDisposeScope();
        }
        adversarial.MoveToOuterDisposeScope();
        distance.MoveToOuterDisposeScope();
        return (adversarial, distance);
    }

    /// <summary>f = z_t − z_y per example and its input gradient, through the surrogate.</summary>
    private static (Tensor F, Tensor Gradient) DifferenceAndGradient(IClassifier model, Tensor x, Tensor y, Tensor targets)
    {
        using var scope = NewDisposeScope();
        using var enabled = enable_grad();
        var input = x.detach().requires_grad_(true);
        var logits = model.SurrogateLogits(input);
        var f = logits.gather(1, targets.unsqueeze(1)).sub(logits.gather(1, y.unsqueeze(1))).squeeze(1);
        var gradient = autograd.grad(new[] { f.sum() }, new[] { input })[0];
        return (f.detach().MoveToOuterDisposeScope(), gradient.detach().MoveToOuterDisposeScope());
    }

    /// <summary>
    /// The smallest L∞ step d, with t + d in the [0, 1] box, onto the hyperplane w·z = b for each row (the reference's
    /// projection_linf): sort the coordinates by how far they can move, find by bisection how many must saturate, and
    /// move the rest by the common amount λ.
    /// </summary>
    internal static Tensor ProjectLinf(Tensor points, Tensor wHyperplane, Tensor bHyperplane)
    {
        using var scope = NewDisposeScope();
        var t = points;
        long dims = t.shape[1];
        var sign = w0(wHyperplane, t).sub(bHyperplane).ge(0).to_type(t.dtype).mul(2).sub(1);
        var w = wHyperplane.mul(sign.unsqueeze(1));
        var b = bHyperplane.mul(sign);
        var a = w.lt(0).to_type(t.dtype);
        var nonzero = w.ne(0).to_type(t.dtype);
        var d = a.sub(t).mul(nonzero);
        var p = a.sub(t.mul(a.mul(2).sub(1)));
        var indp = p.argsort(1);
        b = b.sub(w.mul(t).sum(1));
        var b0 = w.mul(d).sum(1);
        var indp2 = indp.flip(1);
        var ws = w.gather(1, indp2);
        var bs2 = ws.neg().mul(d.gather(1, indp2));
        var s = ws.abs().cumsum(1);
        var sb = bs2.cumsum(1).add(b0.unsqueeze(1));
        var last = s.select(1, dims - 1);
        var sbLast = sb.select(1, dims - 1);
        var b2 = sbLast.sub(last.mul(p.gather(1, indp.narrow(1, 0, 1)).squeeze(1)));
        var cL = b.sub(b2).gt(0);
        var c2 = b.sub(b0).gt(0).logical_and(cL.logical_not());

        var lb = zeros(t.shape[0], dtype: t.dtype, device: t.device);
        var ub = full(new[] { t.shape[0] }, dims - 1, dtype: t.dtype, device: t.device);
        int iterations = (int)Math.Ceiling(Math.Log2(dims));
        for (int i = 0; i < iterations; i++)
        {
            var mid = lb.add(ub).div(2).floor();
            var mid2 = mid.to_type(ScalarType.Int64).unsqueeze(1);
            var current = indp.gather(1, mid2.neg().add(dims - 1));
            var bMid = sb.gather(1, mid2).sub(s.gather(1, mid2).mul(p.gather(1, current))).squeeze(1);
            var c = b.sub(bMid).gt(0);
            lb = torch.where(c, mid, lb);
            ub = torch.where(c, ub, mid);
        }
        var lbIndex = lb.to_type(ScalarType.Int64).unsqueeze(1);

        var lambdaL = b.sub(sbLast).div(last.neg()).clamp_min(0).unsqueeze(1);
        var dL = a.mul(2).sub(1).mul(lambdaL);
        var lambda2 = b.sub(sb.gather(1, lbIndex).squeeze(1)).div(s.gather(1, lbIndex).squeeze(1).neg()).clamp_min(0).unsqueeze(1);
        var d2 = torch.min(lambda2, d).mul(a).add(torch.max(lambda2.neg(), d).mul(a.neg().add(1)));
        var result = torch.where(cL.unsqueeze(1), dL, torch.where(c2.unsqueeze(1), d2, d)).mul(nonzero);
        return result.MoveToOuterDisposeScope();

        static Tensor w0(Tensor w, Tensor t) => w.mul(t).sum(1);
    }
}
