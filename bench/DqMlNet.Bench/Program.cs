// The benchmark runner: training, attack and inference cost side by side, judged against targets. See docs/benchmarks.md.
//   dotnet run -c Release --project bench/DqMlNet.Bench -- --quick      (≤ 10 minutes on 2 cores)
//   dotnet run -c Release --project bench/DqMlNet.Bench                  (more rounds, adds WRN-16-4)
//   dotnet run -c Release --project bench/DqMlNet.Bench -- ort-wrn       (only ORT QDQ vs fp32 on WRN-16-4, batch 256)
//   dotnet run -c Release --project bench/DqMlNet.Bench -- scalar-lifetime  (TorchSharp's temporary Scalars under garbage collection)
//   dotnet run -c Release --project bench/DqMlNet.Bench -- row-invariance   (does a row's result depend on its batch's size?)
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
if (s.Child == ScalarLifetimeSection.ChildName) return ScalarLifetimeSection.Child(s);
if (s.Child is not null)
{
    Console.Error.WriteLine($"Unknown child mode '{s.Child}'.");
    return 2;
}
if (s.Bdn) return Micro.Run(s);
if (s.Section == OrtResidualSection.Name) return OrtResidualSection.Run(s);
if (s.Section == ScalarLifetimeSection.Name) return ScalarLifetimeSection.Run(s);
if (s.Section == RowInvarianceSection.Name) return RowInvarianceSection.Run(s);

var clock = Stopwatch.StartNew();
var r = new Results();
MachineInfo.Fill(r.Machine, s);
Console.WriteLine($"DqMlNet bench — {(s.Quick ? "quick" : "full")} mode, {s.Threads} thread(s), {r.Machine["cpu"]}");
Console.WriteLine("Other processes may share this machine: absolute timings are noisy; ratios from one run (interleaved rounds) are what count.");

var peaks = MachineSections.MatmulPeak(r, s);

var smallCnn = BenchModel.SmallCnn28;
var models32 = s.Quick ? new[] { BenchModel.VggSmall } : new[] { BenchModel.VggSmall, BenchModel.Wrn16x4 };

TrainingSections.TrainingStep(r, s, smallCnn, s.TrainingRounds);
foreach (var m in models32)
    TrainingSections.TrainingStep(r, s, m, m == BenchModel.Wrn16x4 ? Math.Max(8, s.Rounds / 4) : s.TrainingRounds);
if (s.Section == "train")
{
    // Only the training-cost section (matmul peak, SmallCnn and VGG steps) and its targets: for iterating on the regulariser.
    // No end-of-run peak here: the figures at peak use the start's.
    r.ResolvePeakRows(peaks);
    Targets.EvaluateTraining(r, models32);
    Console.WriteLine(r.Table());
    Console.WriteLine(r.TargetTable());
    return 0;
}

TrainingSections.AttackCost(r, s, smallCnn, DqMlNet.Models.TrainingMode.Vanilla, s.Rounds);
TrainingSections.AttackCost(r, s, smallCnn, DqMlNet.Models.TrainingMode.FullPrecision, s.Rounds);
TrainingSections.AttackCost(r, s, BenchModel.VggSmall, DqMlNet.Models.TrainingMode.Vanilla, s.Rounds);

InferenceSection.Run(r, s, smallCnn);
foreach (var m in models32) InferenceSection.Run(r, s, m);

if (s.Python) MachineSections.PyTorchPeer(r, s, s.Rounds);
else r.Note("PyTorch peer skipped (--no-python).");

MemoryChild.Run(r, s);

if (s.MallocCheck) MachineSections.MallocCheck(r, s);
else r.Note("glibc malloc check skipped (--no-malloc-check).");

// The peaks again at the end: if the machine was slower at the start (another process, clock ramp-up, an ONNX Runtime
// session in its slower mode), the start's figures are too low a reference. Every figure at peak is taken of the best
// of the two; the table shows both, and the targets flag any fraction above 1.
var peaksEnd = MachineSections.MatmulPeak(r, s, "end");
r.Add("4 machine", "matmul peak end / start", peaksEnd.Fp32 / peaks.Fp32, "×", "≈ 1 on an idle machine");
var reference = GemmPeaks.Best(peaks, peaksEnd);
r.Add("4 machine", "fp32 GEMM peak (reference: best of start and end)", reference.Fp32, "GFLOP/s", "every fp32 fraction of peak below is of this");
r.Add("4 machine", "int8 GEMM peak (reference: best of start and end)", reference.Int8, "GOP/s", "every int8 fraction of peak below is of this");
r.Add("4 machine", "torch.mm / fp32 GEMM peak (reference)", reference.TorchMm / reference.Fp32, "×", "LibTorch's best matrix product over the machine's best");
r.ResolvePeakRows(reference);
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
