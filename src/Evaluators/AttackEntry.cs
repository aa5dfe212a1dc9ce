using DqMlNet.Attacks;

namespace DqMlNet.Evaluators;

/// <summary>
/// One attack of a suite: a name and how to build it for an ε. <see cref="SmoothProxy"/> runs it on the model's
/// smooth-proxy gradients (BPDA through un-quantized ReLU6), judged on the true quantized model.
/// </summary>
public sealed record AttackEntry(string Name, Func<double, Attack> Create, bool SmoothProxy = false)
{
    /// <summary>A standard-library attack by name with default settings: FGSM, R+FGSM, BIM, PGD, PGD-L2, APGD-CE, APGD-T, Square, Noise.</summary>
    public static AttackEntry Named(string name, int steps = 20, int squareQueries = 1000) => name.ToUpperInvariant() switch
    {
        "FGSM" => new("FGSM", e => new Fgsm(e)),
        "R+FGSM" or "RFGSM" => new("R+FGSM", e => new RFgsm(e)),
        "BIM" => new("BIM", e => new Bim(e)),
        "PGD" => new($"PGD-{steps}", e => new Pgd(e, steps)),
        "PGD-L2" => new($"PGD-{steps}-L2", e => new Pgd(e, steps, norm: AttackNorm.L2)),
        "PGD-PROXY" => new($"PGD-{steps}-proxy", e => new Pgd(e, steps), SmoothProxy: true),
        "APGD-CE" => new("APGD-CE", e => new Apgd(e, steps * 5)),
        "APGD-T" => new("APGD-T", e => new Apgd(e, steps * 5, targetClasses: 3)),
        "SQUARE" => new("Square", e => new SquareAttack(e, squareQueries)),
        "NOISE" => new("Noise", e => new RandomNoise(e)),
        _ => throw new ArgumentException(
            $"Unknown attack '{name}'. Known: FGSM, R+FGSM, BIM, PGD, PGD-L2, PGD-proxy, APGD-CE, APGD-T, Square, Noise.", nameof(name)),
    };
}
