using System.Text;
using DqMlNet.Models;
using DqMlNet.Runtime;
using DqMlNet.Transforms.Onnx;
using static TorchSharp.torch;

namespace DqMlNet.Bench;

/// <summary>Section 3: TorchSharp fp32 vs ONNX Runtime fp32 (FP export) vs ONNX Runtime QDQ-int8 (VQ-4 export).</summary>
internal static class InferenceSection
{
    public static void Run(Results r, Settings s, BenchModel m, double peakGflops)
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
        r.Note($"{m.Name}: ORT-optimised QDQ graph ops: {OpSummary(vqOpt)}");

        foreach (int batch in new[] { 1, 256 })
        {
            var gen = new Generator(5);
            using var x = rand(new long[] { batch, m.Spec.Channels, m.Spec.Height, m.Spec.Width }, generator: gen);
            float[] pixels = x.data<float>().ToArray();
            int reps = batch == 1 ? (s.Quick ? 200 : 1000) : (s.Quick ? 10 : 30);
            int warm = batch == 1 ? 20 : 3;
            var variants = new (string, Action)[]
            {
                ("TorchSharp fp32", () => { using var ng = no_grad(); using var y = fp.call(x); _ = y.data<float>()[0]; }),
                ("TorchSharp VQ-4 (fake-quant fp32)", () => { using var ng = no_grad(); using var y = vq.call(x); _ = y.data<float>()[0]; }),
                ("ORT fp32", () => _ = ortFp.Predict(pixels, batch)),
                ("ORT QDQ-int8", () => _ = ortVq.Predict(pixels, batch)),
            };
            var t = Measure.Interleaved(variants, warm, reps);
            foreach (var (name, _) in variants)
            {
                double ms = Measure.Median(t[name]);
                double ips = batch / (ms / 1000);
                r.Add(sec, $"b{batch} {name}", ips, "img/s",
                    $"{ms:0.###} ms/batch; {2.0 * macs * ips / 1e9 / peakGflops:0.###} of fp32 mm peak");
            }
            r.Add(sec, $"b{batch} ORT QDQ-int8 / ORT fp32", Measure.MedianRatio(t["ORT fp32"], t["ORT QDQ-int8"]), "× speed", "median of per-round ratios");
            r.Add(sec, $"b{batch} ORT fp32 / TorchSharp fp32", Measure.MedianRatio(t["TorchSharp fp32"], t["ORT fp32"]), "× speed");
        }
    }

    /// <summary>Counts of the interesting op types in an ONNX file (crude: searches the op_type strings).</summary>
    private static string OpSummary(string path)
    {
        if (!File.Exists(path)) return "(optimised model not written)";
        var text = Encoding.Latin1.GetString(File.ReadAllBytes(path));
        var ops = new[] { "QLinearConv", "QLinearMatMul", "ConvInteger", "MatMulInteger", "DynamicQuantize", "QuantizeLinear", "DequantizeLinear", "FusedConv", "Conv", "Gemm", "MatMul" };
        var counts = new List<string>();
        foreach (var op in ops)
        {
            // op_type is field 4 of NodeProto: tag 0x22, length, bytes.
            string needle = "\u0022" + (char)op.Length + op;
            int n = 0, at = 0;
            while ((at = text.IndexOf(needle, at, StringComparison.Ordinal)) >= 0) { n++; at += needle.Length; }
            if (n > 0) counts.Add($"{op}×{n}");
        }
        return string.Join(", ", counts);
    }
}
