using DqMlNet.Attacks;

namespace DqMlNet.Evaluators;

/// <summary>
/// One attack of a suite: a name and how to build it for an ε. <see cref="SmoothProxy"/> runs it on the model's
/// smooth-proxy gradients (a surrogate-gradient attack through the un-quantized ReLU6), judged on the true quantized model.
/// </summary>
public sealed record AttackEntry(string Name, Func<double, Attack> Create, bool SmoothProxy = false)
{
    /// <summary>
    /// A standard-library attack by name: FGSM, R+FGSM, BIM, PGD, PGD-L2, PGD-proxy, MI-FGSM, APGD-CE, APGD-T, FAB-T,
    /// Square, Noise.
    /// </summary>
    /// <param name="name">Attack name (case-insensitive).</param>
    /// <param name="steps">Steps of PGD-type attacks; APGD and FAB run 5× as many iterations unless <paramref name="iterations"/> is given.</param>
    /// <param name="squareQueries">Square's query budget.</param>
    /// <param name="targetClasses">Target classes of APGD-T and FAB-T (default 9, AutoAttack's).</param>
    /// <param name="iterations">Iterations of APGD and FAB (default 5·<paramref name="steps"/>).</param>
    public static AttackEntry Named(string name, int steps = 20, int squareQueries = 1000, int targetClasses = 9, int? iterations = null)
    {
        ArgumentNullException.ThrowIfNull(name);
        int it = iterations ?? steps * 5;
        return name.ToUpperInvariant() switch
        {
            "FGSM" => new("FGSM", e => new Fgsm(e)),
            "R+FGSM" or "RFGSM" => new("R+FGSM", e => new RFgsm(e)),
            "BIM" => new("BIM", e => new Bim(e)),
            "PGD" => new($"PGD-{steps}", e => new Pgd(e, steps)),
            "PGD-L2" => new($"PGD-{steps}-L2", e => new Pgd(e, steps, norm: AttackNorm.L2)),
            "PGD-PROXY" => new($"PGD-{steps}-proxy", e => new Pgd(e, steps), SmoothProxy: true),
            "MI-FGSM" or "MIFGSM" => new($"MI-FGSM-{steps}", e => new MiFgsm(e, steps)),
            "APGD-CE" => new("APGD-CE", e => new Apgd(e, it)),
            "APGD-T" => new("APGD-T", e => new Apgd(e, it, targetClasses: targetClasses)),
            "FAB-T" or "FAB" => new("FAB-T", e => new Fab(e, it, targetClasses: targetClasses)),
            "SQUARE" => new("Square", e => new SquareAttack(e, squareQueries)),
            "NOISE" => new("Noise", e => new RandomNoise(e)),
            _ => throw new ArgumentException(
                $"Unknown attack '{name}'. Known: FGSM, R+FGSM, BIM, PGD, PGD-L2, PGD-proxy, MI-FGSM, APGD-CE, APGD-T, FAB-T, Square, Noise.", nameof(name)),
        };
    }
}
