using System.Text.Json;
using Microsoft.ML.OnnxRuntime;
using DqMlNet.Models;
using DqMlNet.Runtime;
using DqMlNet.Transforms.Onnx;
using static TorchSharp.torch;

namespace DqMlNet.Bench;

/// <summary>Section 3: TorchSharp fp32 vs ONNX Runtime fp32 (FP export) vs ONNX Runtime QDQ-int8 (VQ-4 export).</summary>
internal static class InferenceSection
{
    public static void Run(Results r, Settings s, BenchModel m)
    {
        string sec = $"3 inference {m.Name}";
        Console.WriteLine($"[{sec}]");
        TorchRuntime.Seed(1);
        using var fp = ModelFactory.Create(m.In(TrainingMode.FullPrecision));
        TorchRuntime.Seed(1);
        using var vq = ModelFactory.Create(m.In(TrainingMode.Vanilla));
        // BatchNorm running statistics are at their initial values; fine for timing.
        fp.eval();
        vq.eval();
        long macs = Flops.ForwardMacsPerImage(fp);
        byte[] fpOnnx = OnnxExporter.ToBytes(fp);
        byte[] vqOnnx = OnnxExporter.ToBytes(vq);
        string tag = m.Spec.Architecture.ToString().ToLowerInvariant();
        Directory.CreateDirectory(s.OutDir);
        File.WriteAllBytes(Path.Combine(s.OutDir, $"{tag}_fp32.onnx"), fpOnnx);
        File.WriteAllBytes(Path.Combine(s.OutDir, $"{tag}_vq4_qdq.onnx"), vqOnnx);
        r.Add(sec, "ONNX size fp32 (FP export)", fpOnnx.Length / 1024.0, "KiB");
        r.Add(sec, "ONNX size QDQ (VQ-4 export, int8 weights)", vqOnnx.Length / 1024.0, "KiB");
        r.Add(sec, "size QDQ / fp32", (double)vqOnnx.Length / fpOnnx.Length, "×");

        string fpOpt = Path.Combine(s.OutDir, $"{tag}_fp32.ort-optimized.onnx");
        string vqOpt = Path.Combine(s.OutDir, $"{tag}_vq4_qdq.ort-optimized.onnx");
        using var ortFp = new OnnxClassifier(fpOnnx, new OnnxClassifierOptions { IntraOpThreads = s.Threads, OptimizedModelFilePath = fpOpt });
        using var ortVq = new OnnxClassifier(vqOnnx, new OnnxClassifierOptions { IntraOpThreads = s.Threads, OptimizedModelFilePath = vqOpt });
        r.Note($"{m.Name}: ORT-optimised fp32 graph ops: {OpSummary(fpOpt)}");
        r.Note($"{m.Name}: ORT-optimised QDQ graph ops: {OpSummary(vqOpt)}");

        var rates = new List<(double Rate, bool Integer, string Row)>();
        foreach (int batch in new[] { 1, 256 })
        {
            var gen = new Generator(5);
            using var x = rand(new long[] { batch, m.Spec.Channels, m.Spec.Height, m.Spec.Width }, generator: gen);
            float[] pixels = x.data<float>().ToArray();
            int reps = batch == 1 ? (s.Quick ? 100 : 1000) : (s.Quick ? 8 : 30);
            int warm = batch == 1 ? 20 : 3;
            // The dispose scope frees the forward's intermediates at once (without it they wait for the GC: a WRN batch of
            // 256 leaves gigabytes behind per call).
            Action torchFp = () => { using var scope = NewDisposeScope(); using var ng = no_grad(); _ = fp.call(x).data<float>()[0]; };
            // TorchSharp and ONNX Runtime are timed in separate interleaved groups: ORT's intra-op threads spin after a
            // run and would slow whatever TorchSharp call follows (measured separately below).
            var torchVariants = new (string, Action)[]
            {
                ("TorchSharp fp32", torchFp),
                ("TorchSharp VQ-4 (fake-quant fp32)", () => { using var scope = NewDisposeScope(); using var ng = no_grad(); _ = vq.call(x).data<float>()[0]; }),
            };
            var ortVariants = new (string, Action)[]
            {
                ("ORT fp32", () => _ = ortFp.Predict(pixels, batch)),
                ("ORT QDQ-int8", () => _ = ortVq.Predict(pixels, batch)),
            };
            var t = Measure.Interleaved(torchVariants, warm, reps);
            foreach (var (k, v) in Measure.Interleaved(ortVariants, warm, reps)) t[k] = v;
            var variants = torchVariants.Concat(ortVariants).ToArray();
            if (batch == 1)
            {
                var after = new List<double>();
                for (int i = 0; i < reps; i++)
                {
                    _ = ortVq.Predict(pixels, batch);
                    after.Add(Measure.Time(torchFp));
                }
                double alone = Measure.Median(t["TorchSharp fp32"]), behind = Measure.Median(after);
                r.Add(sec, "b1 TorchSharp fp32 right after an ORT call", behind, "ms",
                    $"{behind / alone:0.0}× its time alone ({alone:0.###} ms): ORT's spinning intra-op threads compete for the cores");
            }
            foreach (var (name, _) in variants)
            {
                double ms = Measure.Median(t[name]);
                double ips = batch / (ms / 1000);
                // The QDQ export runs its convolutions as integer kernels: its reference is the int8 GEMM peak.
                bool integer = name.Contains("int8", StringComparison.Ordinal);
                double rate = 2.0 * macs * ips / 1e9;
                rates.Add((rate, integer, $"b{batch} {name}"));
                r.Add(sec, $"b{batch} {name}", ips, "img/s", $"{ms:0.###} ms/batch; {rate:0.#} {(integer ? "GOP/s" : "GFLOP/s")}");
            }
            r.Add(sec, $"b{batch} ORT QDQ-int8 / ORT fp32", Measure.MedianRatio(t["ORT fp32"], t["ORT QDQ-int8"]), "× speed", "median of per-round ratios");
            r.Add(sec, $"b{batch} ORT fp32 / TorchSharp fp32", Measure.MedianRatio(t["TorchSharp fp32"], t["ORT fp32"]), "× speed");
            if (batch == 256)
            {
                var dims = new long[] { batch, m.Spec.Channels, m.Spec.Height, m.Spec.Width };
                r.Note($"{m.Name} b256 ORT profile, fp32 graph: {Profile(fpOnnx, s, pixels, dims, 3)}");
                r.Note($"{m.Name} b256 ORT profile, QDQ graph: {Profile(vqOnnx, s, pixels, dims, 3)}");
            }
        }
        (double Fraction, string Row) Largest(GemmPeaks p) =>
            rates.Select(x => (x.Rate / (x.Integer ? p.Int8 : p.Fp32), x.Row)).MaxBy(x => x.Item1);
        r.AddAtPeak(sec, "inference fraction of GEMM peak, largest", "of peak", p => Largest(p).Fraction,
            p => $"{Largest(p).Row}; fp32 rows against the fp32 GEMM peak, QDQ-int8 rows against the int8 one");
    }

    /// <summary>Op types of an ONNX file with their counts, e.g. "QLinearConv×7, Conv×1".</summary>
    private static string OpSummary(string path)
    {
        if (!File.Exists(path)) return "(optimised model not written)";
        var model = Onnx.ModelProto.Parser.ParseFrom(File.ReadAllBytes(path));
        return string.Join(", ", model.Graph.Node.GroupBy(n => n.OpType).OrderByDescending(g => g.Count()).Select(g => $"{g.Key}×{g.Count()}"));
    }

    /// <summary>
    /// ONNX Runtime's own profile of <paramref name="runs"/> batches: total time per op type, largest first, as
    /// "QLinearConv 61 %, ..." (where the int8 graph spends its time).
    /// </summary>
    private static string Profile(byte[] model, Settings s, float[] pixels, long[] dims, int runs)
    {
        string prefix = Path.Combine(s.OutDir, "ort-profile");
        using var so = new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL, IntraOpNumThreads = s.Threads };
        so.EnableProfiling = true;
        so.ProfileOutputPathPrefix = prefix;
        using var session = new InferenceSession(model, so);
        string input = session.InputNames[0];
        for (int i = 0; i < runs; i++)
        {
            using var value = OrtValue.CreateTensorValueFromMemory(pixels, dims);
            using var ro = new RunOptions();
            using var outputs = session.Run(ro, new[] { input }, new[] { value }, session.OutputNames);
        }
        string file = session.EndProfiling();
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllText(file));
            var perOp = new Dictionary<string, double>();
            foreach (var e in doc.RootElement.EnumerateArray())
            {
                if (!e.TryGetProperty("cat", out var cat) || cat.GetString() != "Node") continue;
                if (!e.TryGetProperty("name", out var name) || !(name.GetString() ?? "").EndsWith("_kernel_time", StringComparison.Ordinal)) continue;
                string op = e.GetProperty("args").TryGetProperty("op_name", out var o) ? o.GetString() ?? "?" : "?";
                perOp[op] = perOp.GetValueOrDefault(op) + e.GetProperty("dur").GetDouble();
            }
            double total = perOp.Values.Sum();
            return string.Join(", ", perOp.OrderByDescending(kv => kv.Value).Take(6)
                .Select(kv => $"{kv.Key} {100 * kv.Value / total:0} %"));
        }
        finally
        {
            File.Delete(file);
        }
    }
}
