// The benchmark runner: training, attack and inference cost side by side, judged against targets. See docs/benchmarks.md.
//   dotnet run -c Release --project bench/DqMlNet.Bench -- --quick      (≤ 10 minutes on 2 cores)
//   dotnet run -c Release --project bench/DqMlNet.Bench                  (more rounds, adds WRN-16-4)
//   dotnet run -c Release --project bench/DqMlNet.Bench -- ort-wrn       (only ORT QDQ vs fp32 on WRN-16-4, batch 256)
using System.Diagnostics;
using System.Globalization;
using DqMlNet.Bench;
using DqMlNet.Runtime;

CultureInfo.DefaultThreadCurrentCulture = CultureInfo.InvariantCulture;
CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;

Settings s;
try
{
    s = Settings.Parse(args);
}
catch (HelpRequested)
{
    Console.WriteLine(Settings.Usage);
    return 0;
}
catch (Exception e) when (e is ArgumentException or FormatException)
{
    Console.Error.WriteLine(e.Message);
    Console.Error.WriteLine(Settings.Usage);
    return 2;
}

// What the samples and the CLI opt into at their entry points; DQMLNET_MALLOC_TUNING=0 measures without the allocator settings.
DqRuntime.ConfigureProcess(threads: s.Threads, tuneMalloc: true);
TorchSharp.torch.set_num_interop_threads(1);
if (s.Child == "malloc-probe") return MachineSections.MallocProbe(s);
if (s.Child == "memory") return MemoryChild.Child(s);
if (s.Child is not null)
{
    Console.Error.WriteLine($"Unknown child mode '{s.Child}'.");
    return 2;
}
if (s.Bdn) return Micro.Run(s);
if (s.Section == OrtResidualSection.Name) return OrtResidualSection.Run(s);

var clock = Stopwatch.StartNew();
var r = new Results();
MachineInfo.Fill(r.Machine, s);
Console.WriteLine($"DqMlNet bench — {(s.Quick ? "quick" : "full")} mode, {s.Threads} thread(s), {r.Machine["cpu"]}");
Console.WriteLine("Other processes may share this machine: absolute timings are noisy; ratios from one run (interleaved rounds) are what count.");

var peaks = MachineSections.MatmulPeak(r, s);
double peak = peaks.Fp32;

var smallCnn = BenchModel.SmallCnn28;
var models32 = s.Quick ? new[] { BenchModel.VggSmall } : new[] { BenchModel.VggSmall, BenchModel.Wrn16x4 };

TrainingSections.TrainingStep(r, s, smallCnn, peaks, s.TrainingRounds);
foreach (var m in models32)
    TrainingSections.TrainingStep(r, s, m, peaks, m == BenchModel.Wrn16x4 ? Math.Max(8, s.Rounds / 4) : s.TrainingRounds);
if (s.Section == "train")
{
    // Only the training-cost section (matmul peak, SmallCnn and VGG steps) and its targets: for iterating on the regulariser.
    Targets.EvaluateTraining(r, models32);
    Console.WriteLine(r.Table());
    Console.WriteLine(r.TargetTable());
    return 0;
}

TrainingSections.AttackCost(r, s, smallCnn, DqMlNet.Models.TrainingMode.Vanilla, s.Rounds);
TrainingSections.AttackCost(r, s, smallCnn, DqMlNet.Models.TrainingMode.FullPrecision, s.Rounds);
TrainingSections.AttackCost(r, s, BenchModel.VggSmall, DqMlNet.Models.TrainingMode.Vanilla, s.Rounds);

InferenceSection.Run(r, s, smallCnn, peaks);
foreach (var m in models32) InferenceSection.Run(r, s, m, peaks);

if (s.Python) MachineSections.PyTorchPeer(r, s, s.Rounds);
else r.Note("PyTorch peer skipped (--no-python).");

MemoryChild.Run(r, s);

if (s.MallocCheck) MachineSections.MallocCheck(r, s);
else r.Note("glibc malloc check skipped (--no-malloc-check).");

// The peak again at the end: if the machine was slower at the start (another process, clock ramp-up), the fractions
// below used too low a reference; the table shows both, and the targets flag any fraction above 1.
double peakEnd = MachineSections.MatmulPeak(r, s, "end").Fp32;
r.Add("4 machine", "matmul peak end / start", peakEnd / peak, "×", "≈ 1 on an idle machine");
Targets.Evaluate(r, models32);

var run = new Dictionary<string, object?>
{
    ["command"] = "dotnet run -c Release --project bench/DqMlNet.Bench -- " + string.Join(' ', args),
    ["mode"] = s.Quick ? "quick" : "full",
    ["threads"] = s.Threads,
    ["dateUtc"] = DateTime.UtcNow.ToString("u", CultureInfo.InvariantCulture),
    ["seconds"] = Math.Round(clock.Elapsed.TotalSeconds, 1),
    ["noise"] = "Shared machine: absolute timings are noisy; ratios from interleaved rounds of one run are what count.",
};
string json = Path.Combine(s.OutDir, "bench.json");
r.WriteJson(json, run);
File.WriteAllText(Path.Combine(s.OutDir, "bench.md"), r.Table() + Environment.NewLine + r.TargetTable());
Console.WriteLine();
Console.WriteLine(r.Table());
Console.WriteLine(r.TargetTable());
Console.WriteLine($"Wrote {Path.GetFullPath(json)} in {clock.Elapsed.TotalMinutes:0.0} min.");
return 0;
