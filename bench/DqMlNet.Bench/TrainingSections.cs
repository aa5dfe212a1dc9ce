using System.Diagnostics;
using DqMlNet.Attacks;
using DqMlNet.Models;
using DqMlNet.Runtime;
using static TorchSharp.torch;

namespace DqMlNet.Bench;

/// <summary>Sections 1 and 2: training step cost (FP, VQ-4, DQ-4, the regulariser alone) and attack cost.</summary>
internal static class TrainingSections
{
    public const double Beta = 2e-3;

    /// <summary>Probe vectors per layer of the stochastic regulariser estimate.</summary>
    public const int Probes = 4;

    /// <summary>Training steps of FP, VQ-4 and DQ-4 (and the DQ regulariser alone), interleaved round-robin.</summary>
    public static void TrainingStep(Results r, Settings s, BenchModel m, int rounds)
    {
        string sec = $"1 train {m.Name} b{m.Batch}";
        Console.WriteLine($"[{sec}]");
        using var fp = new Trainee(m.In(TrainingMode.FullPrecision), m.Batch, 0);
        using var vq = new Trainee(m.In(TrainingMode.Vanilla), m.Batch, 0);
        using var dq = new Trainee(m.In(TrainingMode.Defensive), m.Batch, Beta);
        using var dqs = new Trainee(m.In(TrainingMode.Defensive), m.Batch, Beta, lipschitz: new Lipschitz.LipschitzOptions { Probes = Probes });
        long macs = Flops.ForwardMacsPerImage(fp.Model);
        var t = Measure.Interleaved(new (string, Action)[]
        {
            ("FP", fp.Step), ("VQ-4", vq.Step), ("DQ-4", dq.Step), ("reg", dq.RegularizerOnly), ("DQ-4 stochastic", dqs.Step),
            ("reg stochastic", dqs.RegularizerOnly),
        }, s.Warmup, rounds);
        double fpMs = Measure.Median(t["FP"]), vqMs = Measure.Median(t["VQ-4"]), dqMs = Measure.Median(t["DQ-4"]), regMs = Measure.Median(t["reg"]);
        r.Add(sec, "FP step", fpMs, "ms", $"median of {rounds}");
        r.Add(sec, "VQ-4 step", vqMs, "ms");
        r.Add(sec, "DQ-4 step (β=2e-3)", dqMs, "ms");
        r.Add(sec, "regulariser value+gradient alone", regMs, "ms", $"{dq.Regularizer!.SelectLayers(dq.Model).Count} layers, closed form");
        r.Add(sec, "regulariser share of DQ step", 100 * regMs / dqMs, "%");
        r.Add(sec, "DQ/VQ", Measure.MedianRatio(t["DQ-4"], t["VQ-4"]), "×", "median of per-round ratios");
        r.Add(sec, $"DQ-4 step, stochastic regulariser ({Probes} probes)", Measure.Median(t["DQ-4 stochastic"]), "ms");
        r.Add(sec, "stochastic regulariser value+gradient alone", Measure.Median(t["reg stochastic"]), "ms", $"{Probes} probes per layer, closed form");
        r.Add(sec, "DQ stochastic/VQ", Measure.MedianRatio(t["DQ-4 stochastic"], t["VQ-4"]), "×", $"Hutchinson estimate, {Probes} ±1 probes per layer");
        r.Add(sec, "VQ/FP", Measure.MedianRatio(t["VQ-4"], t["FP"]), "×", "median of per-round ratios");
        r.Add(sec, "(VQ+reg)/VQ", (vqMs + regMs) / vqMs, "×", "what DQ/VQ would be if the regulariser were the only extra");
        // What the exact penalty must cost on this machine: its matrix products at the measured matmul peak. When the
        // regulariser already runs near peak, a DQ/VQ above a target is arithmetic, not overhead.
        var (regFlops, floorFlops) = Flops.ExactRegularizer(dq.Regularizer.SelectLayers(dq.Model).Select(l => (Tensor)l.Weight));
        r.Add(sec, "regulariser GFLOP per step", regFlops / 1e9, "GFLOP", "Gram S·Sᵀ + gradient E·S, 4·n²·k per layer");
        double regGflops = regFlops / 1e9 / (regMs / 1000), floorMs = floorFlops / 1e9 * 1000;
        r.AddAtPeak(sec, "regulariser fraction of mm peak", "of peak", p => regGflops / p.Fp32);
        r.AddAtPeak(sec, "DQ/VQ floor, exact penalty at mm peak", "×", p => (vqMs + floorMs / p.Fp32) / vqMs,
            _ => "the least DQ/VQ any implementation of the exact penalty reaches here (Gram by symmetry: 3·n²·k flops, at the peak)");
        // LibTorch multiplies with its own BLAS, which on some CPUs runs far below the machine's best GEMM: the same floor
        // at torch.mm's peak is what the regulariser could reach without leaving LibTorch.
        r.AddAtPeak(sec, "regulariser fraction of torch.mm peak", "of peak", p => regGflops / p.TorchMm);
        r.AddAtPeak(sec, "DQ/VQ floor, exact penalty at torch.mm peak", "×", p => (vqMs + floorMs / p.TorchMm) / vqMs,
            _ => "the same floor with LibTorch's own matrix product");
        foreach (var (name, ms) in new[] { ("FP", fpMs), ("VQ-4", vqMs), ("DQ-4", dqMs) })
            r.Add(sec, $"{name} images/s", m.Batch / (ms / 1000), "img/s");
        double gflop = 3.0 * 2 * macs * m.Batch / 1e9; // forward + input grad + weight grad ≈ 3 × forward
        r.Add(sec, "model forward MACs/image", macs / 1e6, "MMAC");
        r.Add(sec, "FP achieved GFLOP/s (3×fwd)", gflop / (fpMs / 1000), "GFLOP/s");
        r.AddAtPeak(sec, "FP fraction of mm peak", "of peak", p => gflop / (fpMs / 1000) / p.Fp32);
        r.AddAtPeak(sec, "DQ-4 fraction of mm peak", "of peak", p => gflop / (dqMs / 1000) / p.Fp32);
    }

    /// <summary>One PGD step vs one training step on the same model and batch, and PGD-20 evaluation throughput.</summary>
    public static void AttackCost(Results r, Settings s, BenchModel m, TrainingMode mode, int rounds)
    {
        string label = mode == TrainingMode.FullPrecision ? "FP" : "VQ-4";
        string sec = $"2 attack {m.Name} {label} b{m.Batch}";
        Console.WriteLine($"[{sec}]");
        using var trainee = new Trainee(m.In(mode), m.Batch, 0);
        using var target = new AttackTarget(m.In(mode), trainee.X, trainee.Y);
        var t = Measure.Interleaved(new (string, Action)[] { ("train", trainee.Step), ("pgd", () => target.PgdStep()) }, s.Warmup, rounds);
        double trainMs = Measure.Median(t["train"]), pgdMs = Measure.Median(t["pgd"]);
        r.Add(sec, "training step", trainMs, "ms");
        r.Add(sec, "PGD step (fwd+bwd w.r.t. input, frozen)", pgdMs, "ms");
        r.Add(sec, "PGD step / training step", Measure.MedianRatio(t["pgd"], t["train"]), "×", "median of per-round ratios");

        // PGD-20 as RobustnessEvaluator runs it: labels = the model's own predictions so every example starts unfooled.
        Tensor predicted;
        using (no_grad()) predicted = target.Classifier.Logits(trainee.X).argmax(1);
        foreach (var (eps, what) in new[] { (0.1 / 255, "ε=0.1/255 (no early stop: all 20 steps)"), (8 / 255.0, "ε=8/255 (early stop on fooled)") })
        {
            var attack = new Pgd(eps, 20) { Seed = 3 };
            int reps = s.Quick ? 1 : 4, warm = s.Quick ? 0 : 1; // the step itself is warm from the rounds above
            var times = new List<double>();
            for (int i = 0; i < reps + warm; i++)
            {
                var sw = Stopwatch.StartNew();
                using (var scope = NewDisposeScope()) _ = attack.Generate(target.Classifier, trainee.X, predicted);
                if (i >= warm) times.Add(sw.Elapsed.TotalMilliseconds);
            }
            r.Add(sec, $"PGD-20 eval images/s, {what}", m.Batch / (Measure.Median(times) / 1000), "img/s");
        }
        predicted.Dispose();
    }
}
