namespace DqMlNet.Bench;

/// <summary>The performance targets (training overhead of VQ/DQ, attack cost, integer inference speed-up, memory), judged on this run's figures.</summary>
internal static class Targets
{
    public static void Evaluate(Results r, IReadOnlyList<BenchModel> models32)
    {
        var model32 = models32[0];
        string small = $"1 train {BenchModel.SmallCnn28.Name} b{BenchModel.SmallCnn28.Batch}";
        EvaluateTraining(r, models32);

        string atk = $"2 attack {BenchModel.SmallCnn28.Name} VQ-4 b{BenchModel.SmallCnn28.Batch}";
        r.AddTarget("PGD step / training step, SmallCnn VQ-4", r.Get(atk, "PGD step / training step"), 1.0, atMost: true,
            "PGD skips the weight gradients and the optimizer but adds the input gradient and projection");
        string atk32 = $"2 attack {model32.Name} VQ-4 b{model32.Batch}";
        r.AddTarget($"PGD step / training step, {model32.Name} VQ-4", r.Get(atk32, "PGD step / training step"), 1.0, atMost: true,
            "eval-mode BatchNorm, no weight gradients");

        const string py = "5 PyTorch peer SmallCnn 28×28×1 b128";
        double? ours = r.Get(small, "FP images/s"), theirs = r.Get(py, "PyTorch eager FP step images/s");
        r.AddTarget("DqMlNet FP training images/s ÷ PyTorch eager (SmallCnn)", ours / theirs, 1.0, atMost: false,
            theirs is null ? "PyTorch peer not run" : "same model, batch, threads; Debian's torch uses a generic BLAS");
        r.AddTarget("SmallCnn FP training throughput / matmul peak", r.Get(small, "FP fraction of mm peak"), 0.5, atMost: false,
            $"against the machine's best fp32 GEMM, of which LibTorch's own torch.mm reaches {Fmt(TorchShare(r))} here; LibTorch's NCHW " +
            "max_pool2d (≈ 40 % of the FP step), conv1 with C_in = 1 and memory-bound elementwise ops cannot run at GEMM speed");

        var fractions = r.Find(metric => metric.Contains("fraction of", StringComparison.Ordinal) && metric.Contains("peak", StringComparison.Ordinal));
        r.AddTarget("largest \"fraction of peak\" in this run (training and inference)", fractions.Count == 0 ? null : fractions.Max(), 1.0, atMost: true,
            "against the machine's best GEMM of the same number type (fp32: torch.mm or ORT MatMul; int8: ORT MatMulInteger); " +
            "a fraction above 1 means a reference was measured too low (see the end-of-run peak)");

        foreach (var m in models32.Prepend(BenchModel.SmallCnn28))
            r.AddTarget($"ORT QDQ-int8 / ORT fp32 at batch 256, {m.Name}", r.Get($"3 inference {m.Name}", "b256 ORT QDQ-int8 / ORT fp32"), 1.5, atMost: false,
                m.Spec.Architecture == DqMlNet.Models.Architecture.WideResNet
                    ? "the convolutions feeding the residual Add (half the MACs) have a float output, so ORT runs them in float"
                    : "everything after the first (float-input) convolution runs as integer kernels; ops in the notes");

        const string mem = "6 memory: DqTrainer.Fit SmallCnn DQ-4, 10 epochs × 2,000 images";
        r.AddTarget("RSS growth epoch 2→10 (%), retained (after malloc_trim)", r.Get(mem, "retained RSS growth epoch 2→10"), 5, atMost: true,
            $"live tensor growth {Fmt(r.Get(mem, "live tensor growth epoch 2→10"))}; raw RSS growth {Fmt(r.Get(mem, "RSS growth epoch 2→10"))} % " +
            "(free pages glibc keeps, more with the malloc tuning)", strict: true);
    }

    /// <summary>The training-step targets: DQ/VQ (exact and stochastic penalty) and VQ/FP.</summary>
    public static void EvaluateTraining(Results r, IReadOnlyList<BenchModel> models32)
    {
        var model32 = models32[0];
        string small = $"1 train {BenchModel.SmallCnn28.Name} b{BenchModel.SmallCnn28.Batch}";
        string big = $"1 train {model32.Name} b{model32.Batch}";
        double? regShare32 = r.Get(big, "regulariser share of DQ step");
        double? regShareSmall = r.Get(small, "regulariser share of DQ step");

        r.AddTarget($"DQ/VQ step, {model32.Name}", r.Get(big, "DQ/VQ"), 1.10, atMost: true,
            $"regulariser (closed form) is {Fmt(regShare32)} % of the DQ step");
        r.AddTarget("DQ/VQ step, SmallCnn (exact Gram penalty)", r.Get(small, "DQ/VQ"), 1.15, atMost: true,
            $"regulariser (closed form) is {Fmt(regShareSmall)} % of the DQ step (fc1's 256×3136 Gram dominates) at " +
            $"{Fmt(r.Get(small, "regulariser fraction of torch.mm peak"))} of LibTorch's torch.mm peak, which is {Fmt(TorchShare(r))} of the machine's " +
            $"best fp32 GEMM; the exact penalty's arithmetic alone makes DQ/VQ ≥ {Fmt(r.Get(small, "DQ/VQ floor, exact penalty at torch.mm peak"))} " +
            $"at torch.mm's peak, ≥ {Fmt(r.Get(small, "DQ/VQ floor, exact penalty at mm peak"))} at the machine's");
        r.AddTarget("DQ/VQ step, SmallCnn (stochastic penalty estimate)", r.Get(small, "DQ stochastic/VQ"), 1.05, atMost: true,
            $"{TrainingSections.Probes} probes per layer; the robustness it keeps is measured by samples/PaperReproduction (docs/reproduction.md)");
        r.AddTarget("VQ/FP step, SmallCnn", r.Get(small, "VQ/FP"), 1.25, atMost: true, "relu6 + in-place rounding (relu6's fused backward is the STE) vs ReLU");
        r.AddTarget($"VQ/FP step, {model32.Name}", r.Get(big, "VQ/FP"), 1.25, atMost: true, "relu6 + in-place rounding (relu6's fused backward is the STE) vs ReLU");
    }

    /// <summary>LibTorch's torch.mm peak as a fraction of the machine's best fp32 GEMM (the reference peaks, or the start's in the training-only mode).</summary>
    private static double? TorchShare(Results r) =>
        r.Get("4 machine", "torch.mm / fp32 GEMM peak (reference)") ?? r.Get("4 machine", "torch.mm / fp32 GEMM peak (start)");

    private static string Fmt(double? v) => v is double d ? Results.Format(d) : "n/a";
}
