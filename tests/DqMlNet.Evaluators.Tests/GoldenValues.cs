namespace DqMlNet.Tests;

/// <summary>Outputs of each attack on <see cref="TinyMlp"/>, recorded when the attacks were written and reviewed.</summary>
internal static class GoldenValues
{
    public static readonly (int Robust, double L1) Fgsm = (24, 97.1254);
    public static readonly (int Robust, double L1) RFgsm = (46, 51.6386);
    public static readonly (int Robust, double L1) Bim = (23, 67.5278);
    public static readonly (int Robust, double L1) Pgd = (23, 76.7286);
    public static readonly (int Robust, double L1) PgdL2 = (10, 76.6268);
    public static readonly (int Robust, double L1) PgdCw = (24, 77.3051);
    public static readonly (int Robust, double L1) ApgdCe = (22, 93.8829);
    public static readonly (int Robust, double L1) ApgdT = (24, 56.5934);
    public static readonly (int Robust, double L1) Square = (23, 97.3855);
}
