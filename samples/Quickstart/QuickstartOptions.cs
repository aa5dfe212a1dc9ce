using System.CommandLine;
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

    /// <summary>
    /// The quickstart's command line (System.CommandLine, like the <c>dq</c> CLI): <c>--help</c> prints the options and
    /// exits 0, a mistake prints the problem and exits 2, otherwise <paramref name="run"/> gets the parsed options.
    /// </summary>
    public static int Invoke(string[] args, Func<QuickstartOptions, int> run)
    {
        var defaults = new QuickstartOptions();
        var epochs = Positive("--epochs", "Training epochs per model.", defaults.Epochs);
        var trainLimit = new Option<int?>("--train-limit") { Description = "Use only the first N training images (default: all 60,000)." };
        var testLimit = new Option<int?>("--test-limit") { Description = "Use only the first N test images for clean accuracy (default: all 10,000)." };
        var evalLimit = Positive("--eval-limit", "Attack only the first N test images.", defaults.EvalLimit);
        var epsilons = EpsilonList("--epsilons", "ε grid of FGSM and PGD, comma-separated (pixel units).", defaults.Epsilons);
        var suiteEpsilons = EpsilonList("--suite-epsilons",
            "ε of the light suite (APGD-CE, APGD-T, Square, smooth-proxy PGD) and of the worst case over all attacks.", defaults.SuiteEpsilons);
        var pgdSteps = Positive("--pgd-steps", "PGD steps (APGD runs 5× as many).", defaults.PgdSteps);
        var squareQueries = Positive("--square-queries", "Square attack query budget per image.", defaults.SquareQueries);
        var beta = new Option<double>("--beta") { Description = "Lipschitz regularisation β of DQ-4.", DefaultValueFactory = _ => defaults.Beta };
        beta.Validators.Add(r => { if (!(r.GetValueOrDefault<double>() is var v && double.IsFinite(v) && v >= 0)) r.AddError("--beta must be a finite number ≥ 0."); });
        var lr = new Option<double>("--lr") { Description = "Adam learning rate.", DefaultValueFactory = _ => defaults.LearningRate };
        lr.Validators.Add(r => { if (!(r.GetValueOrDefault<double>() is var v && double.IsFinite(v) && v > 0)) r.AddError("--lr must be a finite number > 0."); });
        var seed = new Option<int>("--seed") { Description = "Seed of training and attacks.", DefaultValueFactory = _ => defaults.Seed };
        var threads = Positive("--threads", "LibTorch threads (default: all cores).", defaults.Threads);
        var data = new Option<string?>("--data") { Description = "Fashion-MNIST folder (default: the dqmlnet cache)." };
        var output = new Option<string>("--output") { Description = "Output folder.", DefaultValueFactory = _ => defaults.Output };
        var noOnnx = new Option<bool>("--no-onnx") { Description = "Skip writing the .onnx files (the zips still carry the ONNX export)." };
        var plain = new Option<bool>("--plain") { Description = "Plain line output (no live progress bars)." };

        var root = new RootCommand("DqMlNet quickstart: trains SmallCnn on Fashion-MNIST as FP, VQ-4 and DQ-4 through mlContext.DefensiveQuantize, " +
                                   "saves each as an ML.NET zip, and evaluates the saved zips with EvaluateRobustness (clean and robust accuracy, " +
                                   "worst case over a cascade of attacks) next to the float models.")
        {
            epochs, trainLimit, testLimit, evalLimit, epsilons, suiteEpsilons, pgdSteps, squareQueries, beta, lr, seed, threads, data, output, noOnnx, plain,
        };
        foreach (var limit in new[] { trainLimit, testLimit })
            limit.Validators.Add(r => { if (r.GetValueOrDefault<int?>() is < 1) r.AddError($"{r.Option.Name} must be at least 1."); });
        root.SetAction(parse => run(new QuickstartOptions
        {
            Epochs = parse.GetValue(epochs), TrainLimit = parse.GetValue(trainLimit), TestLimit = parse.GetValue(testLimit),
            EvalLimit = parse.GetValue(evalLimit), Epsilons = parse.GetValue(epsilons)!, SuiteEpsilons = parse.GetValue(suiteEpsilons)!,
            PgdSteps = parse.GetValue(pgdSteps), SquareQueries = parse.GetValue(squareQueries), Beta = parse.GetValue(beta),
            LearningRate = parse.GetValue(lr), Seed = parse.GetValue(seed), Threads = parse.GetValue(threads), DataDirectory = parse.GetValue(data),
            Output = parse.GetValue(output)!, Onnx = !parse.GetValue(noOnnx), Plain = parse.GetValue(plain),
        }));
        var result = root.Parse(args);
        int code = result.Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false });
        // System.CommandLine answers 1 for a parse error; the samples and the CLI use 2 for every command-line mistake.
        return result.Errors.Count > 0 ? 2 : code;
    }

    private static Option<int> Positive(string name, string description, int fallback)
    {
        var option = new Option<int>(name) { Description = description, DefaultValueFactory = _ => fallback };
        option.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<int>() is var v && v < 1) r.AddError($"{name} must be at least 1 (got {v}).");
        });
        return option;
    }

    private static Option<IReadOnlyList<double>> EpsilonList(string name, string description, IReadOnlyList<double> fallback) =>
        new(name)
        {
            Description = description,
            DefaultValueFactory = _ => fallback,
            CustomParser = result =>
            {
                string text = result.Tokens.Count == 1 ? result.Tokens[0].Value : string.Join(",", result.Tokens.Select(t => t.Value));
                var values = new List<double>();
                foreach (var part in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
                {
                    if (!double.TryParse(part, NumberStyles.Float, CultureInfo.InvariantCulture, out double e) || !(e > 0 && e <= 1))
                    {
                        result.AddError($"{name} needs comma-separated budgets in (0, 1], pixel units (got '{text}').");
                        return fallback;
                    }
                    values.Add(e);
                }
                if (values.Count == 0)
                {
                    result.AddError($"{name} needs at least one budget.");
                    return fallback;
                }
                return values.Distinct().OrderBy(e => e).ToList();
            },
        };
}
