using DqMlNet.Models;
using DqMlNet.Runtime;
using DqMlNet.Transforms.Onnx;
using static TorchSharp.torch;

namespace DqMlNet.Bench;

/// <summary>
/// Section "ort-wrn": ONNX Runtime on WRN-16-4 at batch 256, three exports timed side by side in interleaved rounds —
/// the FP model as fp32, the VQ-4 model in QDQ form with the residual stream on uint8 (<c>QuantizeResiduals = true</c>),
/// and the default export with the residual stream in float — plus the op counts of ORT's
/// optimised graph for each, which show what still runs in float.
/// </summary>
internal static class OrtResidualSection
{
    public const string Name = "ort-wrn";

    /// <summary>Op types whose counts are reported (the rest are summed as "other").</summary>
    private static readonly string[] Counted =
        { "QLinearConv", "QLinearAdd", "Conv", "Add", "QuantizeLinear", "DequantizeLinear", "BatchNormalization", "Transpose" };

    public static int Run(Settings s)
    {
        var m = BenchModel.Wrn16x4;
        const int batch = 256;
        int rounds = s.Quick ? 5 : 15;
        string sec = $"ort-wrn {m.Name} b{batch}";
        var r = new Results();
        MachineInfo.Fill(r.Machine, s);
        Console.WriteLine($"[{sec}] {s.Threads} thread(s), {r.Machine["cpu"]}, {rounds} interleaved rounds");

        TorchRuntime.Seed(1);
        using var fp = ModelFactory.Create(m.In(TrainingMode.FullPrecision));
        TorchRuntime.Seed(1);
        using var vq = ModelFactory.Create(m.In(TrainingMode.Vanilla));
        fp.eval();
        vq.eval();
        var exports = new (string Label, byte[] Onnx)[]
        {
            ("ORT fp32", OnnxExporter.ToBytes(fp)),
            ("ORT QDQ-int8, uint8 residual", OnnxExporter.ToBytes(vq, new OnnxExportOptions { QuantizeResiduals = true })),
            ("ORT QDQ-int8, float residual", OnnxExporter.ToBytes(vq)),
        };
        Directory.CreateDirectory(s.OutDir);
        var classifiers = new List<OnnxClassifier>();
        try
        {
            for (int i = 0; i < exports.Length; i++)
            {
                string optimized = Path.Combine(s.OutDir, $"wrn16x4_{i}.ort-optimized.onnx");
                classifiers.Add(new OnnxClassifier(exports[i].Onnx, new OnnxClassifierOptions { IntraOpThreads = s.Threads, OptimizedModelFilePath = optimized }));
                var counts = OptimizedGraphCounts.Of(File.ReadAllBytes(optimized));
                string summary = string.Join(", ", Counted.Select(op => $"{op}×{counts.GetValueOrDefault(op)}"))
                    + $", other×{counts.Where(kv => !Counted.Contains(kv.Key)).Sum(kv => kv.Value)}";
                r.Note($"{exports[i].Label}: ORT-optimised graph: {summary}");
                foreach (var op in Counted) r.Add(sec, $"{exports[i].Label}: {op} nodes", counts.GetValueOrDefault(op), "nodes");
            }

            var gen = new Generator(5);
            using var x = rand(new long[] { batch, m.Spec.Channels, m.Spec.Height, m.Spec.Width }, generator: gen);
            float[] pixels = x.data<float>().ToArray();
            var variants = exports.Select((e, i) => (e.Label, (Action)(() => _ = classifiers[i].Predict(pixels, batch)))).ToArray();
            var t = Measure.Interleaved(variants, 2, rounds);
            foreach (var (label, _) in variants)
            {
                double ms = Measure.Median(t[label]);
                r.Add(sec, label, batch / (ms / 1000), "img/s", $"{ms:0.#} ms/batch");
            }
            r.Add(sec, "QDQ uint8 residual / fp32", Measure.MedianRatio(t["ORT fp32"], t["ORT QDQ-int8, uint8 residual"]), "× speed", "median of per-round ratios; target ≥ 1.5");
            r.Add(sec, "QDQ float residual / fp32", Measure.MedianRatio(t["ORT fp32"], t["ORT QDQ-int8, float residual"]), "× speed", "median of per-round ratios (the default export)");
        }
        finally
        {
            foreach (var c in classifiers) c.Dispose();
        }
        string table = r.Table() + Environment.NewLine + string.Join(Environment.NewLine, r.Notes.Select(n => $"- {n}")) + Environment.NewLine;
        File.WriteAllText(Path.Combine(s.OutDir, "ort-wrn.md"), table);
        Console.WriteLine(table);
        return 0;
    }
}
