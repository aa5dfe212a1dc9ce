using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using DqMlNet.Attacks;
using DqMlNet.Models;
using DqMlNet.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace DqMlNet.Bench;

/// <summary>
/// Section "scalar-lifetime": how often TorchSharp's temporary <see cref="Scalar"/> arguments are freed while LibTorch
/// still reads them, and whether <c>DOTNET_JITMinOpts=1</c> prevents it.
/// <para>
/// A .NET number passed where TorchSharp takes a <see cref="Scalar"/> (<c>t.add(5)</c>, <c>t.mul(0.5)</c>, and the
/// <c>alpha = 1</c> TorchSharp adds itself inside <c>add(Tensor)</c>, <c>sub</c> and its optimizers' steps) becomes a
/// temporary object whose finalizer frees the native scalar. TorchSharp reads the native pointer and then calls
/// LibTorch; in optimised code nothing refers to the temporary after that read, so a garbage collection started by any
/// other thread during the call can finalize it and LibTorch reads freed memory: an exception from a check on the
/// scalar's type ("alpha must not be a floating point number", "Expected false to be true" in <c>toLong</c>) or, in
/// principle, a wrong value. Unoptimised code keeps every local and argument alive to the end of its method, which is
/// what <c>DOTNET_JITMinOpts=1</c> makes of all just-in-time compiled code.
/// </para>
/// Each variant runs as a child process for a fixed time on one LibTorch thread while a second thread allocates small
/// arrays (garbage collections from another thread, as a progress callback, a web server or ML.NET's cursors cause).
/// </summary>
internal static class ScalarLifetimeSection
{
    public const string Name = "scalar-lifetime";
    public const string ChildName = "scalar-stress";
    public const string VariantVariable = "DQMLNET_BENCH_SCALAR_VARIANT";

    private static readonly (string Variant, string Label)[] Variants =
    {
        ("int-implicit", "int64 tensor.add(5): temporary Scalars (value and TorchSharp's alpha = 1)"),
        ("float-implicit", "float32 tensor.mul(0.5): temporary Scalar"),
        ("int-explicit", "int64 tensor.add(s, one): Scalars held by the caller"),
        ("pgd", "PGD-20 on SmallCnn VQ-4, batch 8 (DqMlNet's attack code; a call = one attack run)"),
    };

    public static int Run(Settings s)
    {
        double seconds = s.Quick ? 8 : 20;
        const string sec = "scalar-lifetime (child processes, 1 LibTorch thread + 1 allocating thread)";
        var r = new Results();
        MachineInfo.Fill(r.Machine, s);
        Console.WriteLine($"[{sec}] {seconds:0} s per variant, {r.Machine["cpu"]}");
        foreach (var (minOpts, envLabel) in new[] { ("0", "optimised JIT (default)"), ("1", "DOTNET_JITMinOpts=1") })
        {
            foreach (var (variant, label) in Variants)
            {
                var (exe, prefix) = MachineSections.SelfCommand();
                var args = prefix.Concat(new[] { "--child", ChildName, "--threads", "1", "--seconds", seconds.ToString(CultureInfo.InvariantCulture) });
                var env = new Dictionary<string, string> { [VariantVariable] = variant, ["DOTNET_JITMinOpts"] = minOpts };
                var (code, stdout, stderr) = MachineSections.RunProcess(exe, args, env, TimeSpan.FromSeconds(seconds * 4 + 60));
                var line = stdout.Split('\n').LastOrDefault(l => l.StartsWith("{\"stress\"", StringComparison.Ordinal));
                if (code != 0 || line is null)
                {
                    r.Note($"scalar stress ({variant}, {envLabel}) failed: exit {code}: {stderr.Split('\n').LastOrDefault(l => l.Length > 0)}");
                    continue;
                }
                var e = JsonDocument.Parse(line).RootElement;
                double calls = e.GetProperty("calls").GetDouble(), failures = e.GetProperty("exceptions").GetDouble(), wrong = e.GetProperty("wrong").GetDouble();
                string metric = $"{label}; {envLabel}";
                r.Add(sec, metric, (failures + wrong) / calls * 1e6, "failures per million calls",
                    $"{failures:0} exceptions, {wrong:0} wrong values in {calls:N0} calls; {e.GetProperty("gcs").GetDouble():0} garbage collections" +
                    (failures > 0 ? $"; first: {e.GetProperty("first").GetString()}" : ""));
            }
        }
        Directory.CreateDirectory(s.OutDir);
        string table = r.Table() + Environment.NewLine + string.Join(Environment.NewLine, r.Notes.Select(n => $"- {n}")) + Environment.NewLine;
        File.WriteAllText(Path.Combine(s.OutDir, "scalar-lifetime.md"), table);
        Console.WriteLine();
        Console.WriteLine(table);
        return 0;
    }

    /// <summary>The child: one variant's loop for <see cref="Settings.Seconds"/> seconds, one JSON line.</summary>
    public static int Child(Settings s)
    {
        string variant = Environment.GetEnvironmentVariable(VariantVariable) ?? "int-implicit";
        bool stop = false;
        var allocator = new Thread(() =>
        {
            var keep = new object[64];
            int i = 0;
            while (!Volatile.Read(ref stop)) keep[i++ & 63] = new byte[256];
        }) { IsBackground = true };
        allocator.Start();

        TorchRuntime.Seed(0);
        using var model = ModelFactory.Create(BenchModel.SmallCnn28.In(TrainingMode.Vanilla));
        var classifier = new TorchClassifier(model);
        var pgd = new Pgd(0.1, steps: 20);
        using var images = rand(8, 1, 28, 28);
        using var labels = randint(0, 10, 8);
        using var integers = tensor(new long[] { 1, 2, 3, 4 });
        using var floats = tensor(new float[] { 3, 4, 5, 6 });
        using var five = 5.ToScalar();
        using var one = 1.ToScalar();
        long calls = 0, exceptions = 0, wrong = 0;
        string? first = null;
        var clock = Stopwatch.StartNew();
        int gcs0 = GC.CollectionCount(0);
        while (clock.Elapsed.TotalSeconds < s.Seconds)
        {
            for (int k = 0; k < 1000; k++)
            {
                try
                {
                    switch (variant)
                    {
                        case "pgd":
                        {
                            using var scope = NewDisposeScope();
                            pgd.Generate(classifier, images, labels);
                            k += 99; // one attack run counts as one call; ten runs per check of the clock
                            break;
                        }
                        case "float-implicit":
                        {
                            using var product = floats.mul(0.5);
                            using var element = product[0];
                            if (element.item<float>() != 1.5f) wrong++;
                            break;
                        }
                        case "int-explicit":
                        {
                            using var sum = integers.add(five, one);
                            using var element = sum[0];
                            if (element.item<long>() != 6) wrong++;
                            break;
                        }
                        default:
                        {
                            using var sum = integers.add(5);
                            using var element = sum[0];
                            if (element.item<long>() != 6) wrong++;
                            break;
                        }
                    }
                    calls++;
                }
                catch (Exception e)
                {
                    exceptions++;
                    calls++;
                    first ??= e.Message.Split('\n')[0];
                }
            }
        }
        Volatile.Write(ref stop, true);
        Console.WriteLine(JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["stress"] = variant,
            ["calls"] = calls,
            ["exceptions"] = exceptions,
            ["wrong"] = wrong,
            ["gcs"] = GC.CollectionCount(0) - gcs0,
            ["first"] = first ?? "",
        }));
        return 0;
    }
}
