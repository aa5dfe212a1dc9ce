using static TorchSharp.torch;

namespace DqMlNet.Attacks;

/// <summary>Fast gradient sign method (Goodfellow et al.): x' = clip(x + ε·sign(∇ₓL)).</summary>
public sealed class Fgsm(double epsilon, LossKind loss = LossKind.CrossEntropy) : Attack("FGSM", epsilon, AttackNorm.LInf)
{
    /// <summary>Objective whose gradient sign is followed.</summary>
    public LossKind Loss { get; } = loss;

    /// <inheritdoc />
    protected override AttackOutput Run(IClassifier model, Tensor x, Tensor y, Tensor? target, AttackContext context)
    {
        var (gradient, _, _) = LossGradient(model, x, y, target, Loss);
        return new AttackOutput(x.add(gradient.sign().mul(Epsilon)));
    }
}
