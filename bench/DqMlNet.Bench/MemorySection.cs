using DqMlNet.Data;
using DqMlNet.Models;
using DqMlNet.Runtime;
using DqMlNet.Trainers;
using DqMlNet.TorchTraining;
using Microsoft.ML;
using Microsoft.ML.Data;
using static TorchSharp.torch;

namespace DqMlNet.Bench;

/// <summary>Section 6: RSS and live tensors over 10 short DqTrainer epochs; RSS over a lazy 100,000-row ML.NET scoring run.</summary>
internal static class MemorySection
{
    private static readonly string[] Classes = Enumerable.Range(0, 10).Select(i => $"c{i}").ToArray();

    public static long LiveTensors() => TorchSharp.DisposeScopeManager.Statistics.TensorStatistics.ThreadTotalLiveCount;

    public static void Training(Results r, Settings s)
    {
        const string sec = "6 memory: DqTrainer.Fit SmallCnn DQ-4, 10 epochs × 2,000 images";
        Console.WriteLine($"[{sec}]");
        var gen = new Generator(11);
        using var train = ImageDataset.FromTensors(
            rand(new long[] { 2000, 1, 28, 28 }, generator: gen), randint(0, 10, new long[] { 2000 }, dtype: ScalarType.Int64, generator: gen), Classes);
        var spec = BenchModel.SmallCnn28.In(TrainingMode.Defensive);
        var options = new DqTrainerOptions { Epochs = 10, BatchSize = 128, Beta = TrainingSections.Beta, Seed = 1, Threads = s.Threads, ProgressInterval = 1000 };
        var epochs = new List<(int Epoch, double Rss, double Retained, long Live, double ImagesPerSecond)>();
        var progress = new EpochProbe(p =>
        {
            if (p.Batch != p.Batches) return; // epoch end
            GC.Collect();
            GC.WaitForPendingFinalizers();
            double rss = Measure.RssMiB();
            // Free pages glibc keeps cached (more of them with DqMlNet's malloc tuning) are not a leak: malloc_trim hands
            // them back, so the RSS after it is the memory the process really retains.
            double retained = HeapTrim.Trim() ? Measure.RssMiB() : double.NaN;
            epochs.Add((p.Epoch, rss, retained, LiveTensors(), p.ImagesPerSecond));
        });
        var result = new DqTrainer(spec, options).Fit(train, null, progress);
        result.Model.Dispose();
        foreach (var (epoch, rss, retained, live, ips) in epochs)
            r.Add(sec, $"epoch {epoch}", rss, "MiB RSS", $"{retained:0.0} MiB after malloc_trim; {live} live tensors; {ips:0} img/s");
        var e2 = epochs.First(e => e.Epoch == 2);
        var e10 = epochs.Last();
        r.Add(sec, "RSS growth epoch 2→10", 100 * (e10.Rss - e2.Rss) / e2.Rss, "%", $"{e10.Rss - e2.Rss:0.0} MiB, includes free pages glibc keeps");
        r.Add(sec, "retained RSS growth epoch 2→10", 100 * (e10.Retained - e2.Retained) / e2.Retained, "%",
            $"{e10.Retained - e2.Retained:0.0} MiB, RSS after malloc_trim(0)");
        r.Add(sec, "live tensor growth epoch 2→10", e10.Live - e2.Live, "tensors");
        r.Add(sec, "DqTrainer.Fit median epoch throughput", Measure.Median(epochs.Skip(1).Select(e => e.ImagesPerSecond).ToList()), "img/s",
            "includes batch gathering, item() reads, progress");
    }

    public static void Scoring(Results r, Settings s)
    {
        const string sec = "6 memory: ML.NET DefensiveQuantizationTransformer scoring, 100,000 lazy rows";
        Console.WriteLine($"[{sec}]");
        var ml = new MLContext(seed: 0);
        var trainRows = ml.Data.LoadFromEnumerable(Rows(512, 3).Select((f, i) => new LabelledRow { Features = f, Label = Classes[i % 10] }));
        var pipeline = ml.Transforms.Conversion.MapValueToKey("Label")
            .Append(ml.DefensiveQuantize(new DefensiveQuantizationEstimator.Options { MaxEpoch = 1, Threads = s.Threads, Seed = 1, ImageChannels = 1, ImageHeight = 28, ImageWidth = 28 }));
        var model = pipeline.Fit(trainRows);
        var dq = model.LastTransformer;

        const int total = 100_000;
        var view = ml.Data.LoadFromEnumerable(Rows(total, 4).Select(f => new FeatureRow { Features = f })); // lazy: a generator
        var scored = dq.Transform(view);
        var rssBefore = Measure.RssMiB();
        var marks = new Dictionary<int, (double Rss, double Seconds)>();
        var sw = System.Diagnostics.Stopwatch.StartNew();
        using (var cursor = scored.GetRowCursor(new[] { scored.Schema["Score"] }))
        {
            var getter = cursor.GetGetter<VBuffer<float>>(scored.Schema["Score"]);
            VBuffer<float> score = default;
            int n = 0;
            double sum = 0;
            while (cursor.MoveNext())
            {
                getter(ref score);
                sum += score.GetValues()[0];
                n++;
                if (n is 10_000 or 50_000 or total) marks[n] = (Measure.RssMiB(), sw.Elapsed.TotalSeconds);
            }
            if (n != total) throw new InvalidOperationException($"Scored {n} rows, expected {total}.");
        }
        r.Add(sec, "RSS before scoring", rssBefore, "MiB");
        foreach (var (n, (rss, secs)) in marks.OrderBy(kv => kv.Key))
            r.Add(sec, $"RSS at {n:N0} rows", rss, "MiB", $"{secs:0.0} s elapsed");
        r.Add(sec, "RSS growth 10k→100k rows", marks[total].Rss - marks[10_000].Rss, "MiB");
        r.Add(sec, "scoring throughput (ORT, batch 256, 28×28)", total / marks[total].Seconds, "rows/s", "incl. lazy row generation");
        ((IDisposable)dq).Dispose();
    }

    /// <summary>Random 784-pixel rows, generated on demand (never materialised).</summary>
    private static IEnumerable<float[]> Rows(int count, int seed)
    {
        var rng = new Random(seed);
        for (int i = 0; i < count; i++)
        {
            var f = new float[784];
            for (int j = 0; j < f.Length; j++) f[j] = (float)rng.NextDouble();
            yield return f;
        }
    }

    private sealed class EpochProbe(Action<TrainingProgress> report) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value) => report(value);
    }

    private sealed class FeatureRow
    {
        [VectorType(784)]
        public float[] Features { get; set; } = Array.Empty<float>();
    }

    private sealed class LabelledRow
    {
        [VectorType(784)]
        public float[] Features { get; set; } = Array.Empty<float>();

        public string Label { get; set; } = "";
    }
}

/// <summary>Runs <see cref="MemorySection"/> in a fresh child process, so RSS starts from a clean baseline.</summary>
internal static class MemoryChild
{
    private const string Prefix = "ROW\t";

    public static void Run(Results r, Settings s)
    {
        Console.WriteLine("[6 memory] (child process)");
        var (exe, prefix) = MachineSections.SelfCommand();
        var args = prefix.Concat(new[] { "--child", "memory", "--threads", s.Threads.ToString(System.Globalization.CultureInfo.InvariantCulture), "--out", s.OutDir });
        var (code, stdout, stderr) = MachineSections.RunProcess(exe, args, null, TimeSpan.FromMinutes(8));
        foreach (var line in stdout.Split('\n').Where(l => l.StartsWith(Prefix, StringComparison.Ordinal)))
        {
            var row = System.Text.Json.JsonSerializer.Deserialize<Row>(line[Prefix.Length..])!;
            r.Add(row.Section, row.Metric, row.Value, row.Unit, row.Note);
        }
        if (code != 0) r.Note($"memory child failed: exit {code}: {stderr.Split('\n').LastOrDefault(l => l.Length > 0)}");
    }

    public static int Child(Settings s)
    {
        var r = new Results();
        MemorySection.Training(r, s);
        MemorySection.Scoring(r, s);
        foreach (var row in r.Rows)
            Console.WriteLine(Prefix + System.Text.Json.JsonSerializer.Serialize(row with { Value = double.IsFinite(row.Value) ? row.Value : -1 }));
        return 0;
    }
}

/// <summary>glibc's malloc_trim, for measuring retained memory (bench only).</summary>
internal static class HeapTrim
{
    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "malloc_trim")]
    private static extern int MallocTrim(nuint pad);

    public static bool Trim()
    {
        if (!OperatingSystem.IsLinux()) return false;
        try
        {
            MallocTrim(0);
            return true;
        }
        catch (Exception ex) when (ex is DllNotFoundException or EntryPointNotFoundException)
        {
            return false;
        }
    }
}
