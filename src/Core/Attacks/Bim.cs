namespace DqMlNet.Attacks;

/// <summary>
/// Basic iterative method (Kurakin et al.): steps of a = 1/255 from the clean image, projected, for
/// T = ⌈min(255·ε + 4, 1.25·255·ε)⌉ steps unless given (Kurakin et al.'s schedule: a = 1/255).
/// </summary>
public sealed class Bim(double epsilon, int? steps = null, double stepSize = 1.0 / 255, LossKind loss = LossKind.CrossEntropy)
    : IterativeAttack("BIM", epsilon, AttackNorm.LInf, steps ?? KurakinSteps(epsilon), stepSize, 1, false, loss)
{
    /// <summary>Kurakin's step count for ε in [0, 1] pixel units.</summary>
    public static int KurakinSteps(double epsilon) => Math.Max(1, (int)Math.Ceiling(Math.Min(255 * epsilon + 4, 1.25 * 255 * epsilon)));
}
