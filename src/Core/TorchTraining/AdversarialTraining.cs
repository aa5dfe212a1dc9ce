using DqMlNet.Attacks;
using DqMlNet.Models;
using static TorchSharp.torch;

namespace DqMlNet.TorchTraining;

/// <summary>Attack used to craft training examples.</summary>
public enum AdversarialMethod
{
    /// <summary>FGSM (Goodfellow et al.).</summary>
    Fgsm,

    /// <summary>R+FGSM (Tramèr et al.): random step, then FGSM.</summary>
    RFgsm,

    /// <summary>
    /// PGD adversarial training (Madry et al.): every example perturbed from a uniformly random start of the ε-ball for
    /// every step, whether or not the model already misclassifies it; the maximal-loss iterate is kept.
    /// </summary>
    Pgd,
}

/// <summary>
/// Adversarial training settings (combine with FP, VQ or DQ). Each batch is attacked against the current model (eval
/// mode, straight-through gradients) with early stop off — every example, including ones the model already gets wrong,
/// is perturbed for every step — and the loss mixes clean and adversarial cross-entropy: (1 − r)·CE(x) + r·CE(x').
/// The default is Madry PGD-AT: PGD from a random start, 7 steps of 2.5·ε/7.
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

    /// <summary>
    /// The adversarial copies of a training batch, crafted against <paramref name="model"/> (put in eval mode with frozen
    /// parameters for the duration, then restored). Row i's random start depends only on (<paramref name="seed"/>, i).
    /// </summary>
    public Tensor Craft(DqModel model, Tensor images, Tensor labels, long seed)
    {
        ArgumentNullException.ThrowIfNull(model);
        Validate();
        return CreateAttack(seed).Perturb(new TorchClassifier(model), images, labels).Adversarial;
    }

    /// <summary>The attack for a batch.</summary>
    internal Attack CreateAttack(long seed)
    {
        if (StepSize is { } a && !(a > 0 && double.IsFinite(a)))
            throw new ArgumentOutOfRangeException(nameof(StepSize), a, "The PGD step size must be a positive number (pixel units).");
        Attack attack = Method switch
        {
            AdversarialMethod.Fgsm => new Fgsm(Epsilon),
            AdversarialMethod.RFgsm => new RFgsm(Epsilon),
            AdversarialMethod.Pgd => new Pgd(Epsilon, Steps, StepSize, randomStart: true) { EarlyStop = false },
            _ => throw new ArgumentOutOfRangeException(nameof(Method), Method, "Unknown adversarial training method."),
        };
        attack.Seed = seed;
        return attack;
    }
}
