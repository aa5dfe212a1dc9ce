using System.Globalization;

namespace DqMlNet.Samples.Quickstart;

/// <summary>Command-line options of the quickstart.</summary>
internal sealed record QuickstartOptions
{
    public int Epochs { get; init; } = 2;
    public int? TrainLimit { get; init; }
    public int? TestLimit { get; init; }
    public int EvalLimit { get; init; } = 500;
    public string Output { get; init; } = Path.Combine("artifacts", "quickstart");
    public int Threads { get; init; } = Math.Max(1, Environment.ProcessorCount);
    public string? DataDirectory { get; init; }
    public double Beta { get; init; } = 2e-3;
    public int Seed { get; init; }
    public double LearningRate { get; init; } = 1e-3;
    public int PgdSteps { get; init; } = 20;
    public int SquareQueries { get; init; } = 1000;
    public IReadOnlyList<double> Epsilons { get; init; } = new[] { 0.02, 0.05, 0.1, 0.15, 0.2 };
    public IReadOnlyList<double> SuiteEpsilons { get; init; } = new[] { 0.05, 0.1 };
    public bool Onnx { get; init; } = true;
    public bool Plain { get; init; }

    public const string Usage =
        """
        usage: Quickstart [options]
          --epochs N            training epochs per model (default 2)
          --train-limit N       use only the first N training images (default: all 60,000)
          --test-limit N        use only the first N test images for clean accuracy (default: all 10,000)
          --eval-limit N        attack only the first N test images (default 500)
          --epsilons LIST       ε grid of FGSM and PGD, comma-separated (default 0.02,0.05,0.1,0.15,0.2)
          --suite-epsilons LIST ε of the light suite (APGD-CE, APGD-T, Square, smooth-proxy PGD) and of the
                                worst case over all attacks (default 0.05,0.1)
          --pgd-steps N         PGD steps (default 20; APGD runs 5×N)
          --square-queries N    Square attack query budget per image (default 1000)
          --beta B              Lipschitz regularisation β of DQ-4 (default 0.002)
          --lr R                Adam learning rate (default 0.001)
          --seed N              seed of training and attacks (default 0)
          --threads N           LibTorch threads (default: all cores)
          --data DIR            Fashion-MNIST folder (default: the dqmlnet cache)
          --output DIR          output folder (default artifacts/quickstart)
          --no-onnx             skip the ONNX export
          --plain               plain line output (no live progress bars)
        """;

    /// <summary>Parses <paramref name="args"/>; prints the problem and usage and returns null on an error or --help.</summary>
    public static QuickstartOptions? Parse(string[] args)
    {
        var o = new QuickstartOptions();
        for (int i = 0; i < args.Length; i++)
        {
            string Value() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
            int Int(int min) => Check(int.Parse(Value(), CultureInfo.InvariantCulture), min);
            int Check(int v, int min) => v >= min ? v : throw new ArgumentException($"{args[i - 1]} must be at least {min} (got {v})");
            try
            {
                o = args[i] switch
                {
                    "--epochs" => o with { Epochs = Int(1) },
                    "--train-limit" => o with { TrainLimit = Int(1) },
                    "--test-limit" => o with { TestLimit = Int(1) },
                    "--eval-limit" => o with { EvalLimit = Int(1) },
                    "--output" => o with { Output = Value() },
                    "--threads" => o with { Threads = Int(1) },
                    "--data" => o with { DataDirectory = Value() },
                    "--beta" => o with { Beta = Positive(Value(), "--beta", allowZero: true) },
                    "--lr" => o with { LearningRate = Positive(Value(), "--lr", allowZero: false) },
                    "--seed" => o with { Seed = int.Parse(Value(), CultureInfo.InvariantCulture) },
                    "--pgd-steps" => o with { PgdSteps = Int(1) },
                    "--square-queries" => o with { SquareQueries = Int(1) },
                    "--epsilons" => o with { Epsilons = EpsilonList(Value(), "--epsilons") },
                    "--suite-epsilons" => o with { SuiteEpsilons = EpsilonList(Value(), "--suite-epsilons") },
                    "--no-onnx" => o with { Onnx = false },
                    "--plain" => o with { Plain = true },
                    "-h" or "--help" => throw new ArgumentException(""),
                    _ => throw new ArgumentException($"unknown option '{args[i]}'"),
                };
            }
            catch (Exception ex) when (ex is ArgumentException or FormatException or OverflowException)
            {
                if (ex.Message.Length > 0) Console.Error.WriteLine($"error: {ex.Message}");
                Console.Error.WriteLine(Usage);
                return null;
            }
        }
        return o;
    }

    private static double Positive(string text, string name, bool allowZero)
    {
        double v = double.Parse(text, NumberStyles.Float, CultureInfo.InvariantCulture);
        if (!double.IsFinite(v) || v < 0 || (!allowZero && v == 0))
            throw new ArgumentException($"{name} must be a finite number {(allowZero ? "≥" : ">")} 0 (got {text})");
        return v;
    }

    private static IReadOnlyList<double> EpsilonList(string text, string name)
    {
        var values = text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(t => double.Parse(t, NumberStyles.Float, CultureInfo.InvariantCulture)).Distinct().OrderBy(e => e).ToList();
        if (values.Count == 0 || values.Any(e => !(e > 0 && e <= 1)))
            throw new ArgumentException($"{name} needs comma-separated budgets in (0, 1], pixel units (got '{text}')");
        return values;
    }
}
