using System.Globalization;

namespace DqMlNet.Bench;

/// <summary>Command line of the runner.</summary>
internal sealed record Settings
{
    public bool Quick { get; init; }
    public int Threads { get; init; } = 2;
    public string OutDir { get; init; } = Path.Combine("artifacts", "bench");
    public bool Python { get; init; } = true;
    public bool MallocCheck { get; init; } = true;
    public bool Bdn { get; init; }
    /// <summary>Internal: "malloc-probe" runs only the SmallCnn step-time probe and prints one JSON line.</summary>
    public string? Child { get; init; }
    /// <summary>A single section to run instead of the whole bench (e.g. "ort-wrn").</summary>
    public string? Section { get; init; }
    /// <summary>Internal: how long a "scalar-stress" child runs.</summary>
    public double Seconds { get; init; } = 10;

    public int Warmup => Quick ? 3 : 5;
    public int Rounds => Quick ? 10 : 40;

    /// <summary>
    /// Interleaved rounds of the SmallCnn and VGG training-step comparison, the same in quick and full mode: the DQ/VQ
    /// ratios are a few percent apart, and 10 rounds on a shared machine moved them by more than that (1.20 to 1.32 in
    /// three quick runs of unchanged code), so both modes measure them alike and reach the same verdicts. About 20 s.
    /// </summary>
    public int TrainingRounds => 40;

    public static Settings Parse(string[] args)
    {
        var s = new Settings();
        for (int i = 0; i < args.Length; i++)
        {
            string a = args[i];
            string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{a} needs a value.");
            s = a switch
            {
                "--quick" => s with { Quick = true },
                "--threads" => s with { Threads = int.Parse(Next(), CultureInfo.InvariantCulture) },
                "--out" => s with { OutDir = Next() },
                "--no-python" => s with { Python = false },
                "--no-malloc-check" => s with { MallocCheck = false },
                "--bdn" => s with { Bdn = true },
                "--child" => s with { Child = Next() },
                "--seconds" => s with { Seconds = double.Parse(Next(), CultureInfo.InvariantCulture) },
                OrtResidualSection.Name => s with { Section = OrtResidualSection.Name },
                ScalarLifetimeSection.Name => s with { Section = ScalarLifetimeSection.Name },
                RowInvarianceSection.Name => s with { Section = RowInvarianceSection.Name },
                "train" => s with { Section = "train", Quick = true, Python = false, MallocCheck = false },
                "-h" or "--help" => throw new HelpRequested(),
                _ => throw new ArgumentException($"Unknown argument '{a}'."),
            };
        }
        if (s.Threads < 1) throw new ArgumentException("--threads must be at least 1.");
        return s;
    }

    public const string Usage =
        "usage: dotnet run -c Release --project bench/DqMlNet.Bench -- [--quick] [--threads N] [--out DIR] [--no-python] [--no-malloc-check] [--bdn] [ort-wrn | train | scalar-lifetime | row-invariance]\n" +
        "  ort-wrn: only ONNX Runtime QDQ (uint8 / float residual) vs fp32 on WRN-16-4 at batch 256, with ORT's optimised op counts\n" +
        "  train: only the matmul peak and the SmallCnn and VGG training steps (FP, VQ-4, DQ-4 exact and stochastic) with their targets\n" +
        "  scalar-lifetime: how often TorchSharp's temporary Scalar arguments are freed during the native call, with and without DOTNET_JITMinOpts=1 (--quick: 8 s per variant)\n" +
        "  row-invariance: whether a row's logits and input gradient depend on the size of its batch (SmallCnn, VGG), which decides whether shards are bit-identical";
}

internal sealed class HelpRequested : Exception
{
}
