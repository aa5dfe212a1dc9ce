using static TorchSharp.torch;

namespace DqMlNet.Attacks;

/// <summary>
/// R+FGSM (Tramèr et al.): a random sign step x̃ = x + α·sign(N(0, I)), then x' = x̃ + (ε − α)·sign(∇L(x̃)); α = ε/2.
/// </summary>
public sealed class RFgsm(double epsilon, double? alpha = null, LossKind loss = LossKind.CrossEntropy) : Attack("R+FGSM", epsilon, AttackNorm.LInf)
{
    /// <summary>Size of the random step (default ε/2).</summary>
    public double Alpha { get; } = alpha ?? epsilon / 2;

    /// <summary>Objective.</summary>
    public LossKind Loss { get; } = loss;

    /// <inheritdoc />
    protected override AttackOutput Run(IClassifier model, Tensor x, Tensor y, Tensor? target, AttackContext context)
    {
        var noise = context.Random.Signs(RowRandom.Stream(RandomPurpose.Noise, 0), x.shape.Skip(1).ToArray(), x.device);
        var start = x.add(noise.mul(Alpha)).clamp(0f, 1f);
        var (gradient, _, _) = LossGradient(model, start, y, target, Loss);
        return new AttackOutput(start.add(gradient.sign().mul(Epsilon - Alpha)));
    }
}
