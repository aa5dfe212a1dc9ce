namespace DqMlNet.Attacks;

/// <summary>
/// Projected gradient descent (Madry et al.): BIM from a uniformly random start, with restarts, keeping the per-example
/// worst case. L∞ or L2; cross-entropy, margin (CW) or DLR loss. Default step 2.5·ε/steps.
/// </summary>
public sealed class Pgd(double epsilon, int steps = 20, double? stepSize = null, AttackNorm norm = AttackNorm.LInf,
    int restarts = 1, LossKind loss = LossKind.CrossEntropy, bool randomStart = true)
    : IterativeAttack($"PGD-{steps}{(norm == AttackNorm.L2 ? "-L2" : "")}{(loss == LossKind.CrossEntropy ? "" : "-" + loss)}",
        epsilon, norm, steps, stepSize ?? Math.Max(2.5 * epsilon / steps, 1e-12), restarts, randomStart, loss);
