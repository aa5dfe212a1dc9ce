using DqMlNet.Attacks;

namespace DqMlNet.Training;

/// <summary>Attack used to craft training examples.</summary>
public enum AdversarialMethod
{
    /// <summary>FGSM (Goodfellow et al.).</summary>
    Fgsm,

    /// <summary>R+FGSM (Tramèr et al.): random step, then FGSM.</summary>
    RFgsm,

    /// <summary>PGD with a random start (Madry et al.).</summary>
    Pgd,
}

/// <summary>
/// Adversarial training settings (combine with FP, VQ or DQ; claim C6). Each batch is attacked against the current
/// model (eval mode, straight-through gradients) and the loss mixes clean and adversarial cross-entropy:
/// (1 − r)·CE(x) + r·CE(x').
/// </summary>
public sealed record AdversarialTraining
{
    /// <summary>Attack that crafts the examples.</summary>
    public AdversarialMethod Method { get; init; } = AdversarialMethod.Pgd;

    /// <summary>L∞ budget in [0, 1] pixels.</summary>
    public double Epsilon { get; init; } = 0.1;

    /// <summary>PGD steps.</summary>
    public int Steps { get; init; } = 7;

    /// <summary>PGD step size (default 2.5·ε/steps).</summary>
    public double? StepSize { get; init; }

    /// <summary>Weight r of the adversarial cross-entropy, in (0, 1].</summary>
    public double Ratio { get; init; } = 0.5;

    /// <summary>Throws for invalid settings.</summary>
    public void Validate()
    {
        if (!(Epsilon > 0 && Epsilon <= 1)) throw new ArgumentOutOfRangeException(nameof(Epsilon), Epsilon, "Adversarial training ε must be in (0, 1] (pixel units).");
        if (Steps < 1) throw new ArgumentOutOfRangeException(nameof(Steps), Steps, "Adversarial training needs at least one PGD step.");
        if (!(Ratio > 0 && Ratio <= 1)) throw new ArgumentOutOfRangeException(nameof(Ratio), Ratio, "The adversarial ratio must be in (0, 1].");
    }

    /// <summary>The attack for a batch.</summary>
    internal Attack CreateAttack(long seed)
    {
        Attack attack = Method switch
        {
            AdversarialMethod.Fgsm => new Fgsm(Epsilon),
            AdversarialMethod.RFgsm => new RFgsm(Epsilon),
            AdversarialMethod.Pgd => new Pgd(Epsilon, Steps, StepSize),
            _ => throw new ArgumentOutOfRangeException(nameof(Method), Method, "Unknown adversarial training method."),
        };
        attack.Seed = seed;
        return attack;
    }
}
