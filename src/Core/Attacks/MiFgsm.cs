namespace DqMlNet.Attacks;

/// <summary>
/// MI-FGSM (Dong et al. 2018): BIM whose step follows the sign of an accumulated momentum of L1-normalised gradients,
/// g ← μ·g + ∇/‖∇‖₁, x ← Π(x + α·sign(g)), from the clean image with α = ε/steps. Designed for transfer: the momentum
/// keeps the direction from overfitting the substitute's local gradient. Default μ = 1, 10 steps.
/// </summary>
public sealed class MiFgsm : IterativeAttack
{
    /// <summary>Creates MI-FGSM with <paramref name="steps"/> steps and decay <paramref name="decay"/>.</summary>
    public MiFgsm(double epsilon, int steps = 10, double decay = 1.0, LossKind loss = LossKind.CrossEntropy)
        : base($"MI-FGSM-{steps}", epsilon, AttackNorm.LInf, steps, Math.Max(epsilon / steps, 1e-12), 1, false, loss)
    {
        Momentum = decay;
    }
}
