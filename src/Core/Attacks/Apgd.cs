using TorchSharp;
using static TorchSharp.torch;

namespace DqMlNet.Attacks;

/// <summary>
/// Auto-PGD (Croce &amp; Hein, AutoAttack): step-size-free PGD with momentum 0.75 that halves the step of an example
/// when its loss stops improving at checkpoints (spaced 22 %, then shrinking by 3 % down to 6 % of the iterations),
/// restarting from its best point. Untargeted with cross-entropy (APGD-CE) or DLR; with
/// <see cref="TargetClasses"/> &gt; 0 it is APGD-T: the targeted DLR loss towards each of the top-k other classes in
/// turn, success still meaning misclassification. With <see cref="EarlyStop"/> off every example runs every iteration
/// of every restart and target, and keeps its maximal-loss iterate (for APGD-T: the one with the largest
/// max_{j≠y} z_j − z_y over the targets).
/// </summary>
public sealed class Apgd : Attack
{
    /// <summary>Creates APGD-CE (default), APGD-DLR or, with <paramref name="targetClasses"/> &gt; 0, APGD-T.</summary>
    public Apgd(double epsilon, int steps = 100, LossKind loss = LossKind.CrossEntropy, int targetClasses = 0, int restarts = 1,
        AttackNorm norm = AttackNorm.LInf)
        : base(targetClasses > 0 ? "APGD-T" : loss == LossKind.CrossEntropy ? "APGD-CE" : $"APGD-{loss.ToString().ToUpperInvariant()}", epsilon, norm)
    {
        if (steps < 1) throw new ArgumentOutOfRangeException(nameof(steps), steps, "APGD needs at least one step.");
        if (targetClasses < 0) throw new ArgumentOutOfRangeException(nameof(targetClasses), targetClasses, "Target classes must be ≥ 0.");
        if (restarts < 1) throw new ArgumentOutOfRangeException(nameof(restarts), restarts, "Restarts must be at least 1.");
        Steps = steps;
        Loss = targetClasses > 0 ? LossKind.Dlr : loss;
        TargetClasses = targetClasses;
        Restarts = restarts;
    }

    /// <summary>Iterations per run.</summary>
    public int Steps { get; }

    /// <summary>Objective (DLR for APGD-T).</summary>
    public LossKind Loss { get; }

    /// <summary>For APGD-T: how many of the highest-scoring wrong classes are tried as targets (AutoAttack: 9).</summary>
    public int TargetClasses { get; }

    /// <summary>Random restarts per target.</summary>
    public int Restarts { get; }

    /// <summary>
    /// Stop attacking an example once it is fooled (default, for evaluation). Off: every example runs every iteration of
    /// every restart (and target) and keeps its maximal-loss iterate on the attacked model.
    /// </summary>
    public bool EarlyStop { get; init; } = true;

    /// <inheritdoc />
    public override string Describe() => Describe(EarlyStop);

    /// <inheritdoc />
    internal override string DescribeFullSteps() => Describe(earlyStop: false);

    private string Describe(bool earlyStop) =>
        $"{Name} ({Norm}, ε = {Epsilon:0.####}, {Steps} steps, {Loss} loss, {Restarts} restart(s)" +
        (TargetClasses > 0 ? $", {TargetClasses} target classes" : "") + (earlyStop ? ")" : ", all steps, max-loss iterate)");

    /// <inheritdoc />
    protected override AttackOutput Run(IClassifier model, Tensor x, Tensor y, Tensor? target, AttackContext context)
    {
        Tensor cleanLogits;
        using (no_grad()) cleanLogits = model.Logits(x);
        bool earlyStop = EarlyStop && !context.FullSteps;
        if (TargetClasses == 0 || target is not null)
        {
            using var tracker = new WorstCaseTracker(x, cleanLogits, y, target, Loss, earlyStop: earlyStop);
            for (int r = 0; r < Restarts && !tracker.Done; r++) RunOnce(model, x, y, target, tracker, context.Random, RowRandom.Stream(RandomPurpose.Start, r), context.CancellationToken);
            return new AttackOutput(tracker.Best.clone());
        }

        // APGD-T: targets are the runner-up classes of the clean prediction, tried in order on the still-robust examples.
        var ranked = cleanLogits.argsort(1, descending: true);
        var best = x.clone();
        var fooled = AttackLoss.Fooled(cleanLogits, y, null);
        var bestMargin = full(new[] { x.shape[0] }, float.NegativeInfinity, device: x.device);
        int k = Math.Min(TargetClasses, model.NumClasses - 1);
        for (int t = 1; t <= k && !(earlyStop && fooled.all().item<bool>()); t++)
        {
            using var scope = NewDisposeScope();
            var targets = ranked.select(1, t);
            // Where the clean prediction is already wrong, class t of the ranking may be y itself; it does not matter: those are fooled.
            using var tracker = new WorstCaseTracker(x, cleanLogits, y, targets, LossKind.Dlr, untargetedSuccess: true, earlyStop: earlyStop);
            if (earlyStop) tracker.MarkFooled(fooled); // examples an earlier target fooled are done
            for (int r = 0; r < Restarts && !tracker.Done; r++)
                RunOnce(model, x, y, targets, tracker, context.Random, RowRandom.Stream(RandomPurpose.Start, t * 1000L + r), context.CancellationToken);
            if (earlyStop)
            {
                var newlyFooled = tracker.Fooled.logical_and(fooled.logical_not());
                best = torch.where(newlyFooled.reshape(-1, 1, 1, 1), tracker.Best, best).MoveToOuterDisposeScope();
            }
            else
            {
                // Targeted losses of different targets are not comparable: keep the target whose best iterate has the
                // largest untargeted margin on the attacked model.
                Tensor margin;
                using (no_grad()) margin = AttackLoss.Margin(model.Logits(tracker.Best), y);
                var better = margin.gt(bestMargin);
                best = torch.where(better.reshape(-1, 1, 1, 1), tracker.Best, best).MoveToOuterDisposeScope();
                bestMargin = torch.where(better, margin, bestMargin).MoveToOuterDisposeScope();
            }
            fooled = fooled.logical_or(tracker.Fooled).MoveToOuterDisposeScope();
        }
        return new AttackOutput(best);
    }

    private void RunOnce(IClassifier model, Tensor xAll, Tensor yAll, Tensor? targetAll, WorstCaseTracker tracker, RowRandom random, long stream,
        CancellationToken cancellationToken)
    {
        using var outer = NewDisposeScope();
        var index = tracker.ActiveIndices();
        if (index.numel() == 0) return;
        var x = xAll.index_select(0, index);
        var y = yAll.index_select(0, index);
        var target = targetAll?.index_select(0, index);
        long n = x.shape[0];

        int checkpoint = Math.Max((int)Math.Ceiling(0.22 * Steps), 1);
        int minCheckpoint = Math.Max((int)Math.Ceiling(0.06 * Steps), 1);
        int decrement = Math.Max((int)Math.Ceiling(0.03 * Steps), 1);

        var adv = ThreatModel.RandomStart(x, Epsilon, Norm, random.Subset(index), stream);
        var (grad, loss, logits) = LossGradient(model, adv, y, target, Loss);
        Score(model, tracker, adv, logits, index);
        var bestLoss = loss.clone();
        var bestPoint = adv.clone();
        var bestGrad = grad.clone();
        var stepSize = full(new[] { n, 1L, 1L, 1L }, 2 * Epsilon, device: x.device);
        var previous = adv.clone();
        var lossHistory = new List<Tensor> { loss };
        var bestAtCheck = bestLoss.clone();
        var reducedAtCheck = ones(n, dtype: ScalarType.Bool, device: x.device);
        int sinceCheck = 0;

        for (int i = 0; i < Steps; i++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            using var scope = NewDisposeScope();
            double momentum = i == 0 ? 1.0 : 0.75;
            var z = ThreatModel.Project(adv.add(StepDirection(grad).mul(stepSize)), x, Epsilon, Norm);
            var next = ThreatModel.Project(adv.add(z.sub(adv).mul(momentum)).add(adv.sub(previous).mul(1 - momentum)), x, Epsilon, Norm);
            previous = adv.MoveToOuterDisposeScope();
            adv = next.MoveToOuterDisposeScope();
            (grad, loss, logits) = LossGradient(model, adv, y, target, Loss);
            grad.MoveToOuterDisposeScope();
            loss.MoveToOuterDisposeScope();
            Score(model, tracker, adv, logits, index);
            lossHistory.Add(loss);

            var improved = loss.gt(bestLoss);
            bestLoss = torch.where(improved, loss, bestLoss).MoveToOuterDisposeScope();
            bestPoint = torch.where(improved.reshape(-1, 1, 1, 1), adv, bestPoint).MoveToOuterDisposeScope();
            bestGrad = torch.where(improved.reshape(-1, 1, 1, 1), grad, bestGrad).MoveToOuterDisposeScope();

            if (++sinceCheck == checkpoint)
            {
                // Condition 1: the loss rose in fewer than 75 % of the steps since the last checkpoint.
                var increases = zeros(n, device: x.device);
                for (int j = lossHistory.Count - checkpoint; j < lossHistory.Count; j++)
                    increases = increases.add(lossHistory[j].gt(lossHistory[j - 1]).to_type(ScalarType.Float32));
                var oscillating = increases.le(checkpoint * 0.75);
                // Condition 2: the step was not reduced at the last checkpoint and the best loss did not improve.
                var stalled = reducedAtCheck.logical_not().logical_and(bestAtCheck.ge(bestLoss));
                var reduce = oscillating.logical_or(stalled);
                reducedAtCheck = reduce.MoveToOuterDisposeScope();
                bestAtCheck = bestLoss.clone().MoveToOuterDisposeScope();
                var reduce4 = reduce.reshape(-1, 1, 1, 1);
                stepSize = torch.where(reduce4, stepSize.div(2), stepSize).MoveToOuterDisposeScope();
                adv = torch.where(reduce4, bestPoint, adv).MoveToOuterDisposeScope();
                grad = torch.where(reduce4, bestGrad, grad).MoveToOuterDisposeScope();
                checkpoint = Math.Max(checkpoint - decrement, minCheckpoint);
                sinceCheck = 0;
            }
        }
    }

    private Tensor StepDirection(Tensor grad) => Norm == AttackNorm.LInf
        ? grad.sign()
        : grad.div(grad.flatten(1).norm(1, keepdim: true).clamp_min(1e-12).reshape(-1, 1, 1, 1));

    private static void Score(IClassifier model, WorstCaseTracker tracker, Tensor adv, Tensor surrogateLogits, Tensor index)
    {
        if (model.SurrogateIsExact) tracker.Update(adv, surrogateLogits, index);
        else using (no_grad()) tracker.Update(adv, model.Logits(adv), index);
    }
}
