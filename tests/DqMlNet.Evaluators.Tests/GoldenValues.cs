namespace DqMlNet.Tests;

/// <summary>
/// Outputs of each attack on <see cref="TinyMlp"/>, recorded when the attacks were written and reviewed. The attacks
/// with randomness were re-recorded when their draws became keyed by each image's global index (per-row streams instead
/// of one generator per batch) and Square followed the reference more closely: every robust count stayed or fell by
/// one except APGD-CE's, which rose by one image of 64 (another random start).
/// </summary>
internal static class GoldenValues
{
    public static readonly (int Robust, double L1) Fgsm = (24, 97.1254);
    public static readonly (int Robust, double L1) RFgsm = (44, 52.9539);
    public static readonly (int Robust, double L1) Bim = (23, 67.5278);
    public static readonly (int Robust, double L1) Pgd = (22, 76.7503);
    public static readonly (int Robust, double L1) PgdL2 = (9, 79.7776);
    public static readonly (int Robust, double L1) PgdCw = (23, 77.3051);
    public static readonly (int Robust, double L1) ApgdCe = (23, 92.2752);
    public static readonly (int Robust, double L1) ApgdT = (23, 58.8258);
    public static readonly (int Robust, double L1) Square = (22, 97.4549);
}
