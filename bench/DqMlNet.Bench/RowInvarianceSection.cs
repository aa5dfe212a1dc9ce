using DqMlNet.Models;
using DqMlNet.Runtime;
using static TorchSharp.torch;

namespace DqMlNet.Bench;

/// <summary>
/// Section "row-invariance": whether a row's logits and input gradient depend on how many other rows share its batch.
/// Shards and cascades attack an image in batches of other sizes than one process does; the attacks key every random
/// choice by the image's global index, so their results are bit-identical across partitions exactly when the model's
/// per-row arithmetic does not depend on the batch size. LibTorch's CPU kernels (MKL, oneDNN) choose code paths by
/// shape and instruction set, so this is a property of the CPU, measured here: rows 0–63 of random images as one batch
/// against the same rows in batches of 1 to 41 rows, unpadded and padded with zero rows to a multiple of 2, 8 and 16.
/// </summary>
internal static class RowInvarianceSection
{
    public const string Name = "row-invariance";

    private static readonly (int Start, int Count)[] Parts = { (0, 23), (23, 41), (0, 1), (5, 7), (0, 32), (32, 32), (0, 16), (0, 17), (10, 13) };

    public static int Run(Settings s)
    {
        var r = new Results();
        MachineInfo.Fill(r.Machine, s);
        const int rows = 64;
        foreach (var m in new[] { BenchModel.SmallCnn28, BenchModel.VggSmall })
        {
            string sec = $"row-invariance {m.Name} VQ-4, eval mode, {s.Threads} thread(s)";
            Console.WriteLine($"[{sec}]");
            TorchRuntime.Seed(1);
            using var model = ModelFactory.Create(m.In(TrainingMode.Vanilla));
            model.eval();
            var shape = m.Spec.InputShape;
            using var x = rand(new long[] { rows, shape[0], shape[1], shape[2] }, generator: new Generator(99));
            long perRow = shape[0] * shape[1] * shape[2];
            foreach (int pad in new[] { 1, 2, 8, 16 })
            {
                using var scope = NewDisposeScope();
                var (wholeLogits, wholeGrad) = LogitsAndGradient(model, x, pad);
                long logitsDiffer = 0, gradDiffer = 0, logitsTotal = 0, gradTotal = 0;
                foreach (var (start, count) in Parts)
                {
                    var (logits, grad) = LogitsAndGradient(model, x.narrow(0, start, count), pad);
                    for (int i = 0; i < logits.Length; i++) logitsDiffer += logits[i] != wholeLogits[start * m.Spec.NumClasses + i] ? 1 : 0;
                    for (int i = 0; i < grad.Length; i++) gradDiffer += grad[i] != wholeGrad[start * perRow + i] ? 1 : 0;
                    logitsTotal += logits.Length;
                    gradTotal += grad.Length;
                }
                string how = pad == 1 ? "batches as they come" : $"batches padded to a multiple of {pad}";
                r.Add(sec, $"logits differing from the 64-row batch, {how}", logitsDiffer, "values", $"of {logitsTotal:N0}");
                r.Add(sec, $"input-gradient values differing, {how}", gradDiffer, "values", $"of {gradTotal:N0}");
            }
        }
        Directory.CreateDirectory(s.OutDir);
        File.WriteAllText(Path.Combine(s.OutDir, "row-invariance.md"), r.Table() + Environment.NewLine);
        Console.WriteLine();
        Console.WriteLine(r.Table());
        return 0;
    }

    /// <summary>The rows' logits and the gradient of their log-sum-exp with respect to the input (zero rows appended up to a multiple of <paramref name="pad"/>, then dropped).</summary>
    private static (float[] Logits, float[] Gradient) LogitsAndGradient(DqModel model, Tensor rows, int pad)
    {
        long count = rows.shape[0];
        long padded = (count + pad - 1) / pad * pad;
        var input = padded > count
            ? cat(new[] { rows, zeros(new[] { padded - count }.Concat(rows.shape.Skip(1)).ToArray()) }, 0)
            : rows;
        input = input.detach().requires_grad_(true);
        var logits = model.forward(input).narrow(0, 0, count);
        var gradient = autograd.grad(new[] { logits.logsumexp(1).sum() }, new[] { input })[0].narrow(0, 0, count);
        return (logits.data<float>().ToArray(), gradient.data<float>().ToArray());
    }
}
