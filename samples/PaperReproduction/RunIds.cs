using System.Globalization;

namespace DqMlNet.Samples.PaperReproduction;

/// <summary>Run ids (also file names) and display labels of the study's models.</summary>
internal static class RunIds
{
    public const string Fp = "fp";
    /// <summary>An FP model with another seed: the substitute that crafts transfer attacks.</summary>
    public const string Substitute = "fp-substitute";
    /// <summary>A VQ model with another seed: the second transfer substitute (a quantized one).</summary>
    public const string SubstituteVq = "vq-substitute";

    public static string Vq(int bits) => $"vq{bits}";

    public static string Dq(int bits) => $"dq{bits}";

    public static string DqBeta(int bits, double beta) => $"dq{bits}-beta{beta.ToString("0.#####", CultureInfo.InvariantCulture)}";

    public static string Stochastic(int bits) => $"dq{bits}-stochastic";

    public static string Adversarial(string id) => $"at-{id}";

    public static string Deep(string id) => $"vgg-{id}";

    public static string Label(string family, int? bits) => bits is int k ? $"{family}-{k}" : family;
}

/// <summary>Names of the transfer attacks in reports.</summary>
internal static class TransferNames
{
    /// <summary>"Transfer-PGD-20 from FP": PGD with <paramref name="steps"/> steps crafted on a <paramref name="family"/> substitute.</summary>
    public static string Of(int steps, string family) => $"Transfer-PGD-{steps} from {family}";
}
