// Reproduces the study of the DQ paper (bits × FP/VQ/DQ, β sweep, attacks, claims C1–C6) at CPU scale (profile cpu) or at the paper's scale (profile paper, a GPU
// job) and writes docs/reproduction.md with every measured number and claims C1–C6 marked holds / does not hold.
// Usage: dotnet run -c Release --project samples/PaperReproduction -- [--profile cpu|paper] [--help]
using System.Diagnostics;
using System.Globalization;
using System.Text;
using DqMlNet.Samples.PaperReproduction;

CultureInfo.DefaultThreadCurrentCulture = CultureInfo.InvariantCulture;
CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;
Console.OutputEncoding = Encoding.UTF8;
var options = ReproductionOptions.Parse(args);
if (options is null) return args.Contains("--help") || args.Contains("-h") ? 0 : 2;
// Process-wide tuning is the application's call: a fixed LibTorch thread count (same seed + same threads ⇒ same
// numbers) and glibc settings that keep LibTorch's freed buffers mapped between steps.
DqMlNet.Runtime.DqRuntime.ConfigureProcess(threads: options.Threads, tuneMalloc: true);

using var cancel = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    cancel.Cancel();
};
var clock = Stopwatch.StartNew();
try
{
    var profile = ReproductionProfile.Get(options.Profile);
    Console.WriteLine($"DqMlNet paper reproduction, profile {profile.Name}: {profile.Description}");
    if (options.CompareSuites)
    {
        var first = profile.Studies[0];
        var markdown = new Study(first, Store(options, first), options, Console.Out).CompareSuites(cancel.Token);
        var path = Path.Combine(options.ResultsDirectory, "suite-comparison.md");
        DqMlNet.Data.AtomicFile.WriteAllBytes(path, Encoding.UTF8.GetBytes(markdown));
        Console.WriteLine(markdown);
        Console.WriteLine($"wrote {Path.GetFullPath(path)} in {clock.Elapsed.TotalMinutes:F1} min");
        return 0;
    }
    var studies = new List<StudyResults>();
    foreach (var config in profile.Studies)
    {
        studies.Add(new Study(config, Store(options, config), options, Console.Out).Run(cancel.Token));
    }
    string command = "dotnet run -c Release --project samples/PaperReproduction" + (profile.Name == "cpu" ? "" : $" -- --profile {profile.Name}");
    new ReproductionReport(profile, options, command).Write(studies, clock.Elapsed);
    Console.WriteLine($"wrote {Path.GetFullPath(options.ReportPath)} in {clock.Elapsed.TotalMinutes:F1} min");
    return 0;
}
catch (OperationCanceledException)
{
    Console.Error.WriteLine("cancelled; finished runs are kept and a restart resumes from them.");
    return 130;
}
catch (Exception ex)
{
    Console.Error.WriteLine($"error: {ex.Message}");
    Console.Error.WriteLine(ex);
    return 1;
}

static ResultStore Store(ReproductionOptions options, StudyConfig study) =>
    new(Path.Combine(options.OutputDirectory, study.Name), Path.Combine(options.ResultsDirectory, study.Name));
