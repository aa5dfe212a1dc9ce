using DqMlNet.Runtime;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using DqMlNet.Models;
using static TorchSharp.torch;

namespace DqMlNet.Bench;

/// <summary>Sections 4, 5 and 7: the matmul peak, the PyTorch peer and the glibc malloc check.</summary>
internal static class MachineSections
{
    /// <summary>
    /// The machine's GEMM peaks: fp32 GFLOP/s, the best of LibTorch's torch.mm and ONNX Runtime's MatMul (2·n³ flops per
    /// product), and int8 GOP/s of ONNX Runtime's MatMulInteger (the integer kernels the QDQ exports run). Each is the
    /// best of many timed products after a warm-up of at least one second of products (thread pool and clock ramp-up),
    /// with the spread of the timed ones. A "fraction of peak" is only meaningful against the best the machine showed,
    /// so a peak is the fastest product of the fastest library, not a median.
    /// </summary>
    public static GemmPeaks MatmulPeak(Results r, Settings s, string label = "start")
    {
        const string sec = "4 machine";
        Console.WriteLine($"[{sec}] matmul peak ({label} of run)");
        double best = 0;
        foreach (int n in new[] { 1024, 2048 })
        {
            var gen = new Generator(2);
            using var a = rand(new long[] { n, n }, generator: gen);
            using var b = rand(new long[] { n, n }, generator: gen);
            using var c = empty(new long[] { n, n });
            var warm = Stopwatch.StartNew();
            do mm_out(a, b, c); while (warm.Elapsed.TotalSeconds < 1.0);
            int reps = s.Quick ? 12 : 25;
            var gflops = new List<double>(reps);
            for (int i = 0; i < reps; i++) gflops.Add(2.0 * n * n * n / (Measure.Time(() => mm_out(a, b, c)) / 1000) / 1e9);
            double max = gflops.Max(), median = Measure.Median(gflops), min = gflops.Min();
            r.Add(sec, $"torch.mm {n}×{n} fp32, best ({label})", max, "GFLOP/s",
                $"median {median:0} (min {min:0}), spread (max−min)/median {100 * (max - min) / median:0} %, {reps} products after ≥ 1 s warm-up, {s.Threads} threads");
            best = Math.Max(best, max);
        }
        double torchBest = best;
        double int8 = 0;
        int ortReps = s.Quick ? 6 : 12, ortSessions = 3;
        // LibTorch's OpenMP workers spin for a while after their last product; let them sleep before timing ORT's.
        Thread.Sleep(500);
        foreach (bool integer in new[] { false, true })
        {
            foreach (int n in new[] { 1024, 2048 })
            {
                var (max, median, min) = OrtGemmPeak.Measure(n, integer, s.Threads, ortReps, ortSessions);
                r.Add(sec, $"ORT {(integer ? "MatMulInteger" : "MatMul")} {n}×{n} {(integer ? "uint8×int8" : "fp32")}, best ({label})", max,
                    integer ? "GOP/s" : "GFLOP/s",
                    $"median {median:0} (min {min:0}), spread (max−min)/median {100 * (max - min) / median:0} %, {ortSessions} sessions × {ortReps} products after a warm-up, {s.Threads} threads");
                if (integer) int8 = Math.Max(int8, max);
                else best = Math.Max(best, max);
            }
        }
        r.Add(sec, $"fp32 GEMM peak ({label})", best, "GFLOP/s",
            $"{(best > torchBest ? "ONNX Runtime's MatMul" : "torch.mm")}, the faster of the two; the fractions of peak are of the best of the start and end peaks");
        r.Add(sec, $"torch.mm / fp32 GEMM peak ({label})", torchBest / best, "×", "how close LibTorch's own matrix product comes to the machine's best");
        return new GemmPeaks(best, int8, torchBest);
    }

    private static void mm_out(Tensor a, Tensor b, Tensor c)
    {
        using var y = a.mm(b);
        _ = y.data<float>()[0];
    }

    /// <summary>Runs bench/pytorch_peer.py under Debian's system python if it has torch.</summary>
    public static void PyTorchPeer(Results r, Settings s, int steps)
    {
        const string sec = "5 PyTorch peer SmallCnn 28×28×1 b128";
        Console.WriteLine($"[{sec}]");
        string python = "/usr/bin/python3";
        string script = Path.Combine(AppContext.BaseDirectory, "pytorch_peer.py");
        if (!File.Exists(python) || !File.Exists(script))
        {
            r.Note($"PyTorch peer skipped: {(File.Exists(python) ? script : python)} not found.");
            return;
        }
        var (code, stdout, stderr) = RunProcess(python, new[] { script, "--threads", s.Threads.ToString(CultureInfo.InvariantCulture),
            "--batch", "128", "--warmup", s.Warmup.ToString(CultureInfo.InvariantCulture), "--steps", steps.ToString(CultureInfo.InvariantCulture) }, null, TimeSpan.FromMinutes(5));
        var line = stdout.Split('\n').LastOrDefault(l => l.TrimStart().StartsWith('{'));
        if (code != 0 || line is null)
        {
            var why = stderr.Contains("No module named 'torch'", StringComparison.Ordinal)
                ? "Debian's python3-torch is not installed (apt-get install -y python3-torch)"
                : $"exit {code}: {stderr.Split('\n').LastOrDefault(l => l.Length > 0)}";
            r.Note($"PyTorch peer skipped: {why}.");
            return;
        }
        using var doc = JsonDocument.Parse(line);
        var root = doc.RootElement;
        r.Add(sec, "PyTorch version", double.NaN, root.GetProperty("torch").GetString() ?? "?",
            $"BLAS: {root.GetProperty("blas").GetString()}; intra-op threads {root.GetProperty("threads").GetInt32()}");
        r.Add(sec, "PyTorch eager FP step", root.GetProperty("step_ms").GetDouble(), "ms", "fwd+bwd+Adam, median");
        r.Add(sec, "PyTorch eager FP fwd+bwd", root.GetProperty("fwdbwd_ms").GetDouble(), "ms", "median");
        r.Add(sec, "PyTorch eager FP step images/s", root.GetProperty("step_images_per_s").GetDouble(), "img/s");
        r.Add(sec, "PyTorch torch.mm 2048 fp32", root.GetProperty("mm_gflops").GetDouble(), "GFLOP/s", "same process, for the BLAS difference");
    }

    /// <summary>
    /// The glibc malloc trap: re-runs the SmallCnn step probe as child processes with glibc's defaults
    /// (DQMLNET_MALLOC_TUNING=0), with the tuning applications opt into (<see cref="DqRuntime.ConfigureProcess"/>: mallopt at start) and with
    /// MALLOC_MMAP_THRESHOLD_/MALLOC_TRIM_THRESHOLD_ = 1e9 (round-robin) and compares step times and page faults.
    /// </summary>
    public static void MallocCheck(Results r, Settings s)
    {
        const string sec = "7 glibc malloc (SmallCnn b128, child processes)";
        Console.WriteLine($"[{sec}]");
        var variants = new (string Name, Dictionary<string, string> Env, string Label)[]
        {
            ("off", new() { [MallocTuning.DisableVariable] = "0" }, "glibc defaults (DQMLNET_MALLOC_TUNING=0)"),
            ("dqmlnet", new(), "DqMlNet default (mallopt at start)"),
            ("env", new() { ["MALLOC_MMAP_THRESHOLD_"] = "1000000000", ["MALLOC_TRIM_THRESHOLD_"] = "1000000000" }, "MALLOC_*_THRESHOLD_=1e9"),
        };
        var runs = variants.ToDictionary(v => v.Name, _ => new List<JsonElement>());
        int rounds = s.Quick ? 2 : 3;
        for (int i = 0; i < rounds; i++)
        {
            foreach (var (name, vars, _) in variants)
            {
                var (exe, prefix) = SelfCommand();
                var args = prefix.Concat(new[] { "--child", "malloc-probe", "--threads", s.Threads.ToString(CultureInfo.InvariantCulture) })
                    .Concat(s.Quick ? new[] { "--quick" } : Array.Empty<string>()).ToArray();
                var (code, stdout, stderr) = RunProcess(exe, args, vars, TimeSpan.FromMinutes(5), clearMalloc: name != "env");
                var line = stdout.Split('\n').LastOrDefault(l => l.StartsWith("{\"probe\"", StringComparison.Ordinal));
                if (code != 0 || line is null)
                {
                    r.Note($"malloc probe ({name}) failed: exit {code}: {stderr.Split('\n').LastOrDefault(l => l.Length > 0)}");
                    return;
                }
                runs[name].Add(JsonDocument.Parse(line).RootElement.Clone());
            }
        }
        double Med(string run, string key) => Measure.Median(runs[run].Select(e => e.GetProperty(key).GetDouble()).ToList());
        foreach (var key in new[] { "fp_ms", "dq_ms" })
        {
            string what = key == "fp_ms" ? "FP" : "DQ-4";
            foreach (var (name, _, label) in variants)
                r.Add(sec, $"{what} step, {label}", Med(name, key), "ms", name == "off" ? $"median over {rounds} child runs" : "");
            r.Add(sec, $"{what} glibc defaults / DqMlNet default", Med("off", key) / Med("dqmlnet", key), "×", "> 1 means DqMlNet's tuning helps");
            r.Add(sec, $"{what} glibc defaults / env vars", Med("off", key) / Med("env", key), "×");
        }
        foreach (var (name, _, label) in variants)
            r.Add(sec, $"minor page faults per DQ step, {label}", Med(name, "dq_minflt_per_step"), "faults");
        foreach (var (name, _, label) in variants)
            r.Add(sec, $"CPU time per DQ step, {label}", Med(name, "dq_cpu_ms"), "ms", $"of which kernel {Med(name, "dq_sys_ms"):0.0} ms");
        r.Add(sec, "DQ CPU time glibc defaults / DqMlNet default", Med("off", "dq_cpu_ms") / Med("dqmlnet", "dq_cpu_ms"), "×", "robust to other load");
        foreach (var (name, _, label) in variants)
            r.Add(sec, $"RSS after probe, {label}", Med(name, "rss_mib"), "MiB");
        r.Add(sec, "mallopt applied in the DqMlNet-default child", Med("dqmlnet", "tuned"), "", "1 = yes");
    }

    /// <summary>The child side of <see cref="MallocCheck"/>: SmallCnn FP and DQ steps, page faults, one JSON line.</summary>
    public static int MallocProbe(Settings s)
    {
        var m = BenchModel.SmallCnn28;
        using var fp = new Trainee(m.In(TrainingMode.FullPrecision), m.Batch, 0);
        using var dq = new Trainee(m.In(TrainingMode.Defensive), m.Batch, TrainingSections.Beta);
        int rounds = s.Quick ? 8 : 30;
        var before = Measure.PageFaults();
        var t = Measure.Interleaved(new (string, Action)[] { ("fp", fp.Step), ("dq", dq.Step) }, s.Warmup, rounds);
        var afterMixed = Measure.PageFaults();
        // DQ steps alone: page faults and CPU time (user/kernel) per step; CPU time is less sensitive to other load than wall time.
        var self = Process.GetCurrentProcess();
        self.Refresh();
        var (cpu0, sys0) = (self.TotalProcessorTime, self.PrivilegedProcessorTime);
        var f0 = Measure.PageFaults();
        int alone = s.Quick ? 8 : 16;
        for (int i = 0; i < alone; i++) dq.Step();
        var f1 = Measure.PageFaults();
        self.Refresh();
        double cpuMs = (self.TotalProcessorTime - cpu0).TotalMilliseconds / alone, sysMs = (self.PrivilegedProcessorTime - sys0).TotalMilliseconds / alone;
        var json = JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["probe"] = "malloc",
            ["fp_ms"] = Measure.Median(t["fp"]),
            ["dq_ms"] = Measure.Median(t["dq"]),
            ["minflt_per_step"] = (afterMixed.Minor - before.Minor) / (2.0 * rounds),
            ["dq_minflt_per_step"] = (f1.Minor - f0.Minor) / (double)alone,
            ["dq_cpu_ms"] = cpuMs,
            ["dq_sys_ms"] = sysMs,
            ["rss_mib"] = Measure.RssMiB(),
            ["mmap_threshold"] = Environment.GetEnvironmentVariable("MALLOC_MMAP_THRESHOLD_") ?? "",
            ["tuned"] = MallocTuning.Apply() ? 1 : 0,
        });
        Console.WriteLine(json);
        return 0;
    }

    /// <summary>How to start this program again (apphost, or dotnet + dll).</summary>
    public static (string Exe, string[] Prefix) SelfCommand()
    {
        string exe = Environment.ProcessPath ?? "dotnet";
        string dll = typeof(MachineSections).Assembly.Location;
        return Path.GetFileNameWithoutExtension(exe).Equals("dotnet", StringComparison.OrdinalIgnoreCase)
            ? (exe, new[] { dll })
            : (exe, Array.Empty<string>());
    }

    public static (int Code, string Stdout, string Stderr) RunProcess(string exe, IEnumerable<string> args,
        IReadOnlyDictionary<string, string>? env, TimeSpan timeout, bool clearMalloc = false)
    {
        var psi = new ProcessStartInfo(exe) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        if (clearMalloc)
        {
            psi.Environment.Remove("MALLOC_MMAP_THRESHOLD_");
            psi.Environment.Remove("MALLOC_TRIM_THRESHOLD_");
        }
        if (env is not null) foreach (var (k, v) in env) psi.Environment[k] = v;
        using var p = Process.Start(psi) ?? throw new InvalidOperationException($"Could not start {exe}.");
        var so = p.StandardOutput.ReadToEndAsync();
        var se = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(timeout))
        {
            p.Kill(entireProcessTree: true);
            return (-1, so.Result, se.Result + "\ntimed out");
        }
        return (p.ExitCode, so.Result, se.Result);
    }
}

/// <summary>The machine's best fp32 GEMM (GFLOP/s), its best int8 GEMM (GOP/s) and LibTorch's torch.mm (GFLOP/s).</summary>
internal sealed record GemmPeaks(double Fp32, double Int8, double TorchMm)
{
    /// <summary>The better of two measurements of each peak (the run's start and end).</summary>
    public static GemmPeaks Best(GemmPeaks a, GemmPeaks b) =>
        new(Math.Max(a.Fp32, b.Fp32), Math.Max(a.Int8, b.Int8), Math.Max(a.TorchMm, b.TorchMm));
}
