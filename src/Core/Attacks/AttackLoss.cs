using static TorchSharp.torch;

namespace DqMlNet.Attacks;

/// <summary>Per-example objectives attacks maximise.</summary>
public enum LossKind
{
    /// <summary>Cross-entropy of the true class (targeted: minus the cross-entropy of the target).</summary>
    CrossEntropy,

    /// <summary>Carlini–Wagner margin max_{j≠y} z_j − z_y (targeted: z_t − max_{j≠t} z_j).</summary>
    Margin,

    /// <summary>Difference of Logits Ratio of AutoAttack, scale-invariant (targeted: the DLR-targeted loss).</summary>
    Dlr,
}

/// <summary>Computes attack objectives; larger is better for the attacker, and &gt; 0 margin means success.</summary>
public static class AttackLoss
{
    /// <summary>Per-example loss [N] to maximise for labels <paramref name="y"/> (or towards <paramref name="target"/>).</summary>
    public static Tensor PerExample(Tensor logits, Tensor y, Tensor? target, LossKind kind)
    {
        using var scope = NewDisposeScope();
        Tensor result = kind switch
        {
            LossKind.CrossEntropy => target is null
                ? nn.functional.cross_entropy(logits, y, reduction: nn.Reduction.None)
                : nn.functional.cross_entropy(logits, target, reduction: nn.Reduction.None).neg(),
            LossKind.Margin => target is null ? Margin(logits, y) : Margin(logits, target).neg(),
            LossKind.Dlr => target is null ? Dlr(logits, y) : DlrTargeted(logits, y, target),
            _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "Unknown attack loss."),
        };
        return result.MoveToOuterDisposeScope();
    }

    /// <summary>max_{j≠c} z_j − z_c per example: positive when some other class beats class c.</summary>
    public static Tensor Margin(Tensor logits, Tensor c)
    {
        using var scope = NewDisposeScope();
        var zc = logits.gather(1, c.unsqueeze(1)).squeeze(1);
        using var isC = nn.functional.one_hot(c, logits.shape[1]).to_type(ScalarType.Bool);
        var others = logits.masked_fill(isC, float.NegativeInfinity);
        return others.amax(new long[] { 1 }).sub(zc).MoveToOuterDisposeScope();
    }

    /// <summary>Whether each example counts as fooled: misclassified (untargeted) or classified as the target.</summary>
    public static Tensor Fooled(Tensor logits, Tensor y, Tensor? target)
    {
        using var predicted = logits.argmax(1);
        return target is null ? predicted.ne(y) : predicted.eq(target);
    }

    private static Tensor Dlr(Tensor logits, Tensor y)
    {
        // −(z_y − max_{j≠y} z_j) / (z_π1 − z_π3)
        var sorted = logits.sort(1, descending: true).Values;
        long third = Math.Min(2, logits.shape[1] - 1); // with fewer than 3 classes the ratio degrades gracefully
        var denominator = sorted.select(1, 0).sub(sorted.select(1, third)).add(1e-12f);
        return Margin(logits, y).div(denominator);
    }

    private static Tensor DlrTargeted(Tensor logits, Tensor y, Tensor target)
    {
        // −(z_y − z_t) / (z_π1 − (z_π3 + z_π4) / 2)
        var sorted = logits.sort(1, descending: true).Values;
        var zy = logits.gather(1, y.unsqueeze(1)).squeeze(1);
        var zt = logits.gather(1, target.unsqueeze(1)).squeeze(1);
        long third = Math.Min(2, logits.shape[1] - 1), fourth = Math.Min(3, logits.shape[1] - 1);
        var denominator = sorted.select(1, 0).sub(sorted.select(1, third).add(sorted.select(1, fourth)).mul(0.5f)).add(1e-12f);
        return zt.sub(zy).div(denominator);
    }
}
