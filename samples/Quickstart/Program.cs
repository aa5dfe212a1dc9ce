// Quickstart: trains SmallCnn on Fashion-MNIST as FP, VQ-4 and DQ-4 and compares them.
// Usage: dotnet run -c Release --project samples/Quickstart -- [--epochs N] [--train-limit N] [--output DIR] [--threads N] [--data DIR]
using System.Diagnostics;
using System.Globalization;
using System.Text;
using DqMlNet.Data;
using DqMlNet.Lipschitz;
using DqMlNet.Models;
using DqMlNet.Training;

CultureInfo.DefaultThreadCurrentCulture = CultureInfo.InvariantCulture;
CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;
var options = QuickstartOptions.Parse(args);
if (options is null) return 2;

Directory.CreateDirectory(options.Output);
Console.WriteLine($"DqMlNet quickstart — output: {Path.GetFullPath(options.Output)}");
var total = Stopwatch.StartNew();
var files = FashionMnist.EnsureAvailable(options.DataDirectory, log: Console.Out);
Console.WriteLine($"Fashion-MNIST from {files.Source}");
using var train = files.Load(DatasetSplit.Train, FashionMnist.ClassNames, options.TrainLimit);
using var test = files.Load(DatasetSplit.Test, FashionMnist.ClassNames, options.TestLimit);
Console.WriteLine($"train {train.Count} images, test {test.Count} images, {options.Threads} threads");

var baseSpec = new ModelSpec
{
    Architecture = Architecture.SmallCnn, Channels = 1, Height = 28, Width = 28, NumClasses = 10,
    Mean = new[] { 0.286f }, Std = new[] { 0.353f },
};
var runs = new (string Name, ModelSpec Spec, double Beta)[]
{
    ("fp", baseSpec with { Mode = TrainingMode.FullPrecision }, 0),
    ("vq4", baseSpec with { Mode = TrainingMode.Vanilla, ActivationBits = 4 }, 0),
    ("dq4", baseSpec with { Mode = TrainingMode.Defensive, ActivationBits = 4 }, options.Beta),
};

var rows = new List<string>();
foreach (var (name, spec, beta) in runs)
{
    var trainerOptions = new DqTrainerOptions
    {
        Epochs = options.Epochs, BatchSize = 128, LearningRate = 1e-3, Beta = beta, Seed = options.Seed, Threads = options.Threads,
    };
    var progress = new ConsoleProgress(name);
    var clock = Stopwatch.StartNew();
    var result = new DqTrainer(spec, trainerOptions).Fit(train, progress: progress);
    clock.Stop();
    progress.Done();
    double accuracy = ModelScoring.Accuracy(result.Model, test);
    double orthogonality = result.Model.WeightLayers.Sum(l => LipschitzRegularizer.OrthogonalityPenalty(l.Weight).item<float>());
    var spectral = SpectralNorm.Measure(result.Model);
    rows.Add($"| {name} | {accuracy:P2} | {orthogonality:F2} | {string.Join(" · ", spectral.Layers.Select(l => l.Norm.ToString("F2")))} | {spectral.Product:F2} | {clock.Elapsed.TotalSeconds:F0} s |");
    Console.WriteLine($"{name}: clean accuracy {accuracy:P2}, Σ‖G−I‖² = {orthogonality:F2}, spectral norm product {spectral.Product:F2}");
}

var summary = new StringBuilder()
    .AppendLine("# DqMlNet quickstart")
    .AppendLine()
    .AppendLine($"Fashion-MNIST ({files.Source}), {train.Count} train / {test.Count} test images, SmallCnn, Adam 1e-3, batch 128, " +
                $"{options.Epochs} epoch(s), β = {options.Beta} for DQ, seed {options.Seed}, {options.Threads} threads.")
    .AppendLine()
    .AppendLine("| model | clean accuracy | Σ‖G−I‖²_F | per-layer spectral norms | product | training time |")
    .AppendLine("|---|---|---|---|---|---|");
rows.ForEach(r => summary.AppendLine(r));
AtomicFile.WriteAllBytes(Path.Combine(options.Output, "summary.md"), Encoding.UTF8.GetBytes(summary.ToString()));
Console.WriteLine();
Console.WriteLine(summary);
Console.WriteLine($"done in {total.Elapsed.TotalMinutes:F1} min");
return 0;

/// <summary>Prints one updating line per model.</summary>
internal sealed class ConsoleProgress(string name) : IProgress<TrainingProgress>
{
    public void Report(TrainingProgress p)
    {
        var line = $"\r{name}: epoch {p.Epoch}/{p.Epochs} batch {p.Batch}/{p.Batches} CE {p.CrossEntropy:F3} reg {p.Regularizer:F4} " +
                   $"acc {p.TrainAccuracy:P1} {p.ImagesPerSecond:F0} img/s";
        Console.Write(Console.IsOutputRedirected ? (p.IsEpochEnd ? line.TrimStart('\r') + "\n" : "") : line.PadRight(100));
    }

    public void Done()
    {
        if (!Console.IsOutputRedirected) Console.WriteLine();
    }
}

/// <summary>Command-line options.</summary>
internal sealed record QuickstartOptions(int Epochs, int? TrainLimit, int? TestLimit, string Output, int Threads, string? DataDirectory, double Beta, int Seed)
{
    public static QuickstartOptions? Parse(string[] args)
    {
        var o = new QuickstartOptions(2, null, null, Path.Combine("artifacts", "quickstart"), Math.Max(1, Environment.ProcessorCount), null, 2e-3, 0);
        for (int i = 0; i < args.Length; i++)
        {
            string Value() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
            try
            {
                o = args[i] switch
                {
                    "--epochs" => o with { Epochs = int.Parse(Value(), CultureInfo.InvariantCulture) },
                    "--train-limit" => o with { TrainLimit = int.Parse(Value(), CultureInfo.InvariantCulture) },
                    "--test-limit" => o with { TestLimit = int.Parse(Value(), CultureInfo.InvariantCulture) },
                    "--output" => o with { Output = Value() },
                    "--threads" => o with { Threads = int.Parse(Value(), CultureInfo.InvariantCulture) },
                    "--data" => o with { DataDirectory = Value() },
                    "--beta" => o with { Beta = double.Parse(Value(), CultureInfo.InvariantCulture) },
                    "--seed" => o with { Seed = int.Parse(Value(), CultureInfo.InvariantCulture) },
                    "-h" or "--help" => throw new ArgumentException(""),
                    _ => throw new ArgumentException($"unknown option '{args[i]}'"),
                };
            }
            catch (Exception ex) when (ex is ArgumentException or FormatException or OverflowException)
            {
                if (ex.Message.Length > 0) Console.Error.WriteLine($"error: {ex.Message}");
                Console.Error.WriteLine("usage: Quickstart [--epochs N] [--train-limit N] [--test-limit N] [--output DIR] [--threads N] [--data DIR] [--beta B] [--seed N]");
                return null;
            }
        }
        return o;
    }
}
