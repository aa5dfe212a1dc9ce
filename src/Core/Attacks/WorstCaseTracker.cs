using TorchSharp;
using static TorchSharp.torch;

namespace DqMlNet.Attacks;

/// <summary>
/// Keeps, per example, the strongest adversarial candidate seen so far. With early stop (evaluation) that is a fooling
/// one if any, else the one with the largest loss, and examples already fooled stop being attacked. Without early stop
/// (transfer crafting, adversarial training) every example stays active for every step and the candidate kept is the
/// one with the largest loss on the attacked model, fooling or not; the clean image is not a candidate, so every
/// example ends perturbed.
/// </summary>
internal sealed class WorstCaseTracker : IDisposable
{
    /// <param name="clean">Clean images (the first candidate).</param>
    /// <param name="cleanLogits">True-model logits of the clean images.</param>
    /// <param name="y">True labels.</param>
    /// <param name="target">Target labels of the loss, or null.</param>
    /// <param name="kind">Loss kind.</param>
    /// <param name="untargetedSuccess">Judge success as misclassification even though the loss has targets (APGD-T).</param>
    /// <param name="earlyStop">Stop on fooled examples and prefer fooling candidates (true), or keep the maximal-loss iterate of every example (false).</param>
    public WorstCaseTracker(Tensor clean, Tensor cleanLogits, Tensor y, Tensor? target, LossKind kind, bool untargetedSuccess = false,
        bool earlyStop = true)
    {
        EarlyStop = earlyStop;
        this.y = y;
        this.target = target;
        this.kind = kind;
        successTarget = untargetedSuccess ? null : target;
        // The tracker owns its tensors (detached from any dispose scope): iterative attacks open a scope per step.
        Best = clean.clone().DetachFromDisposeScope();
        BestLoss = earlyStop
            ? AttackLoss.PerExample(cleanLogits, y, target, kind).detach().DetachFromDisposeScope()
            : full(new[] { clean.shape[0] }, float.NegativeInfinity, device: clean.device).DetachFromDisposeScope();
        Fooled = AttackLoss.Fooled(cleanLogits, y, successTarget).DetachFromDisposeScope();
    }

    private readonly Tensor y;
    private readonly Tensor? target;
    private readonly Tensor? successTarget;
    private readonly LossKind kind;

    /// <summary>Best candidate per example.</summary>
    public Tensor Best { get; private set; }

    /// <summary>Loss of the best candidate.</summary>
    public Tensor BestLoss { get; private set; }

    /// <summary>Examples fooled by some candidate.</summary>
    public Tensor Fooled { get; private set; }

    /// <summary>Whether fooled examples stop being attacked.</summary>
    public bool EarlyStop { get; }

    /// <summary>Whether every example is fooled (nothing left to attack).</summary>
    public bool AllFooled => Fooled.all().item<bool>();

    /// <summary>Whether the attack may stop: with early stop, once every example is fooled; without, never.</summary>
    public bool Done => EarlyStop && AllFooled;

    /// <summary>Indices of the examples still attacked: the ones not fooled yet (early stop) or all.</summary>
    public Tensor ActiveIndices()
    {
        if (!EarlyStop) return arange(Fooled.shape[0], dtype: ScalarType.Int64, device: Fooled.device);
        using var notFooled = Fooled.logical_not();
        using var nz = notFooled.nonzero();
        return nz.squeeze(1);
    }

    /// <summary>Marks examples as already fooled (by an earlier stage of the same attack) so early stop skips them.</summary>
    public void MarkFooled(Tensor fooled)
    {
        var merged = Fooled.logical_or(fooled).DetachFromDisposeScope();
        Fooled.Dispose();
        Fooled = merged;
    }

    /// <summary>
    /// Considers <paramref name="candidate"/> with its (true-model) logits, for the examples at <paramref name="index"/>
    /// (all examples when null).
    /// </summary>
    public void Update(Tensor candidate, Tensor logits, Tensor? index = null)
    {
        using var scope = NewDisposeScope();
        var ySub = index is null ? y : y.index_select(0, index);
        var tSub = index is null || target is null ? target : target.index_select(0, index);
        var sSub = index is null || successTarget is null ? successTarget : successTarget.index_select(0, index);
        var loss = AttackLoss.PerExample(logits, ySub, tSub, kind).detach();
        var fooled = AttackLoss.Fooled(logits, ySub, sSub);
        var wasFooled = index is null ? Fooled : Fooled.index_select(0, index);
        var bestLoss = index is null ? BestLoss : BestLoss.index_select(0, index);
        var best = index is null ? Best : Best.index_select(0, index);
        // Take the candidate where it fools a not-yet-fooled example, or raises the loss of a still-unfooled one.
        var notFooled = wasFooled.logical_not();
        var take = EarlyStop
            ? fooled.logical_and(notFooled).logical_or(notFooled.logical_and(loss.gt(bestLoss)))
            : loss.gt(bestLoss).logical_or(bestLoss.isneginf()); // first iterate always replaces the clean image
        var newBest = torch.where(take.reshape(-1, 1, 1, 1), candidate, best);
        var newLoss = torch.where(take, loss, bestLoss);
        var newFooled = wasFooled.logical_or(fooled);
        if (index is null) Replace(newBest, newLoss, newFooled);
        else Replace(Best.index_copy(0, index, newBest), BestLoss.index_copy(0, index, newLoss), Fooled.index_copy(0, index, newFooled));
    }

    private void Replace(Tensor best, Tensor bestLoss, Tensor fooled)
    {
        Best.Dispose(); BestLoss.Dispose(); Fooled.Dispose();
        Best = best.DetachFromDisposeScope();
        BestLoss = bestLoss.DetachFromDisposeScope();
        Fooled = fooled.DetachFromDisposeScope();
    }

    /// <summary>Releases the tracked tensors.</summary>
    public void Dispose()
    {
        Best.Dispose(); BestLoss.Dispose(); Fooled.Dispose();
    }
}
