using System.Globalization;

namespace DqMlNet.Samples.PaperReproduction;

/// <summary>Command-line options of the reproduction.</summary>
internal sealed record ReproductionOptions
{
    public string Profile { get; init; } = "cpu";
    public string? Output { get; init; }
    public string? Results { get; init; }
    public string? Report { get; init; }
    public string? DataDirectory { get; init; }
    public int Threads { get; init; } = Math.Max(1, Environment.ProcessorCount);
    public string Device { get; init; } = "cpu";
    public int Seed { get; init; }
    /// <summary>Instead of the study: the one-off suite and Square-budget comparison on the deployed DQ-4 and VQ-2.</summary>
    public bool CompareSuites { get; init; }

    /// <summary>Where the runs' checkpoints go.</summary>
    public string OutputDirectory => Output ?? Path.Combine("artifacts", "reproduction", Profile);

    /// <summary>
    /// Where the measurements go (one small JSON file per model and suite): by default beside the report, in the
    /// repository, so that the report can be regenerated, audited and resumed from them on a fresh clone.
    /// </summary>
    public string ResultsDirectory => Results ?? Path.Combine("docs", "reproduction-data", Profile);

    /// <summary>The generated report (its plots go into an <c>images</c> folder beside it).</summary>
    public string ReportPath => Report ?? Path.Combine("docs", Profile == "cpu" ? "reproduction.md" : $"reproduction-{Profile}.md");

    public const string Usage =
        """
        usage: PaperReproduction [options]
          --profile NAME   cpu (default): Fashion-MNIST, SmallCnn and VGG-11×0.25, about 2 hours on 2 cores;
                           paper: CIFAR-10 and SVHN with WRN-28-10 and the paper's recipe (a GPU job: --device cuda);
                           smoke: a 2-minute pipeline check on 2,000 images
          --output DIR     model checkpoints (default artifacts/reproduction/<profile>)
          --results DIR    one JSON file per measurement (default docs/reproduction-data/<profile>, committed with
                           the report); a restart reuses everything found there and in --output, so an interrupted run
                           resumes, and a model whose measurements are all stored is neither trained nor loaded.
                           Delete the folder to measure everything again
          --report FILE    the generated report (default docs/reproduction.md for cpu, docs/reproduction-<profile>.md
                           otherwise); plots go to images/ beside it
          --data DIR       data folder (default: the dqmlnet cache; CIFAR-10 in DIR/cifar-10, SVHN in DIR/svhn)
          --threads N      LibTorch threads (default: all cores)
          --device NAME    cpu (default) or cuda[:i] with a CUDA build of LibTorch
          --seed N         seed of training and attacks (default 0)
          --compare-suites instead of the study: on the deployed DQ-4 and VQ-2 of the first study (trained or resumed),
                           the light suite's worst case vs AutoAttack's, and VQ-2's vs Square budget 300/1,000/5,000;
                           writes suite-comparison.md into the results folder
        """;

    /// <summary>Parses <paramref name="args"/>; prints the problem and usage and returns null on an error or --help.</summary>
    public static ReproductionOptions? Parse(string[] args)
    {
        var o = new ReproductionOptions();
        for (int i = 0; i < args.Length; i++)
        {
            string Value() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
            int Int(int min)
            {
                string name = args[i];
                int v = int.Parse(Value(), CultureInfo.InvariantCulture);
                return v >= min ? v : throw new ArgumentException($"{name} must be at least {min} (got {v})");
            }
            try
            {
                o = args[i] switch
                {
                    "--profile" => o with { Profile = Value().ToLowerInvariant() },
                    "--output" => o with { Output = Value() },
                    "--results" => o with { Results = Value() },
                    "--report" => o with { Report = Value() },
                    "--data" => o with { DataDirectory = Value() },
                    "--threads" => o with { Threads = Int(1) },
                    "--device" => o with { Device = Value() },
                    "--seed" => o with { Seed = Int(0) },
                    "--compare-suites" => o with { CompareSuites = true },
                    "--help" or "-h" => null,
                    _ => throw new ArgumentException($"unknown option '{args[i]}'"),
                };
                if (o is null)
                {
                    Console.WriteLine(Usage);
                    return null;
                }
            }
            catch (Exception ex) when (ex is ArgumentException or FormatException or OverflowException)
            {
                Console.Error.WriteLine($"error: {ex.Message}");
                Console.Error.WriteLine(Usage);
                return null;
            }
        }
        if (!ReproductionProfile.Names.Contains(o.Profile))
        {
            Console.Error.WriteLine($"error: unknown profile '{o.Profile}' (known: {string.Join(", ", ReproductionProfile.Names)})");
            return null;
        }
        return o;
    }
}
