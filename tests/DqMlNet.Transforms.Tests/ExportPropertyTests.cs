using CsCheck;
using DqMlNet.Models;
using DqMlNet.Runtime;
using DqMlNet.Transforms.Onnx;
using static TorchSharp.torch;

namespace DqMlNet.Transforms.Tests;

/// <summary>
/// Export → load properties of ONNX model files over generated specs (CsCheck, fixed seed, one thread). Models are tiny
/// (SmallCnn on 4–10 pixel images, untrained weights from a seeded generator), so each property takes a few seconds.
/// </summary>
public sealed class ExportPropertyTests
{
    // A fixed CsCheck seed: a failure reproduces exactly; change it to explore other inputs.
    private const string Seed = "0N0XIzNsQ0O2";

    private static readonly Gen<(ModelSpec Spec, int TorchSeed)> Models =
        from mode in Gen.OneOf(TrainingMode.FullPrecision, TrainingMode.Vanilla, TrainingMode.Defensive)
        from activationBits in Gen.Int[2, 8]
        from weightBits in Gen.Int[1, 8] // 1 stands for "not quantized" (null)
        from channels in Gen.OneOf(1, 3)
        from height in Gen.Int[4, 10]
        from width in Gen.Int[4, 10]
        from classes in Gen.Int[2, 6]
        from mean in Gen.Float[0f, 1f].Array[channels]
        from std in Gen.Float[0.1f, 1f].Array[channels]
        from batchNorm in Gen.Bool
        from torchSeed in Gen.Int[0, 1_000_000]
        select (new ModelSpec
        {
            Architecture = Architecture.SmallCnn, Mode = mode, ActivationBits = activationBits,
            WeightBits = weightBits == 1 || mode == TrainingMode.FullPrecision ? null : weightBits,
            Channels = channels, Height = height, Width = width, NumClasses = classes, Mean = mean, Std = std, BatchNorm = batchNorm,
        }, torchSeed);

    private static DqModel Create(ModelSpec spec, int seed)
    {
        manual_seed(seed);
        var model = ModelFactory.Create(spec);
        model.eval();
        return model;
    }

    private static float[] Logits(DqModel model, Tensor images)
    {
        using var _ = no_grad();
        using var logits = model.forward(images);
        return logits.data<float>().ToArray();
    }

    [Fact]
    public void Float_weight_export_then_load_gives_the_same_spec_and_the_same_logits()
    {
        TorchRuntime.SetThreads(TestData.Threads);
        Models.Sample(m =>
        {
            using var model = Create(m.Spec, m.TorchSeed);
            var bytes = OnnxExporter.ToBytes(model, new OnnxExportOptions { QuantizeWeights = false });
            using var loaded = OnnxModelLoader.Load(bytes);
            Assert.Equal(m.Spec, loaded.Spec);
            Assert.False(loaded.training);
            manual_seed(m.TorchSeed + 1);
            using var images = rand(3, m.Spec.Channels, m.Spec.Height, m.Spec.Width);
            var expected = Logits(model, images);
            var actual = Logits(loaded, images);
            // Float weights come back bit for bit; folded BatchNorm (scale and shift merged into the convolution) differs by rounding.
            float tolerance = m.Spec.BatchNorm ? 1e-4f : 0f;
            for (int i = 0; i < expected.Length; i++)
                Assert.True(Math.Abs(expected[i] - actual[i]) <= tolerance * Math.Max(1, Math.Abs(expected[i])),
                    $"logit {i}: exported model {expected[i]}, loaded model {actual[i]} ({m.Spec.ToJson()})");
        }, seed: Seed, iter: 8, threads: 1, print: m => m.Spec.ToJson() + " seed " + m.TorchSeed);
    }

    [Fact]
    public void Default_export_of_a_loaded_model_reproduces_the_file()
    {
        // The loaded model holds the weights on the exported grid: exporting it again gives the same ONNX file. (Not with
        // BatchNorm: export folds it into the convolutions and load restores identity BatchNorms, so the folded weights
        // are quantized a second time.)
        TorchRuntime.SetThreads(TestData.Threads);
        Models.Where(m => !m.Spec.BatchNorm).Sample(m =>
        {
            using var model = Create(m.Spec, m.TorchSeed);
            var first = OnnxModelLoader.ReadModel(OnnxExporter.ToBytes(model));
            using var loaded = OnnxModelLoader.Load(first);
            Assert.Equal(m.Spec, loaded.Spec);
            var second = OnnxModelLoader.ReadModel(OnnxExporter.ToBytes(loaded));
            var differing = first.Graph.Initializer.Zip(second.Graph.Initializer)
                .Where(p => !p.First.Equals(p.Second)).Select(p => p.First.Name).ToList();
            Assert.True(differing.Count == 0, "initializers differ after export → load → export: " + string.Join(", ", differing));
            Assert.Equal(first.Graph.Initializer.Count, second.Graph.Initializer.Count);
            Assert.True(first.Equals(second), "the graphs or metadata differ after export → load → export");
        }, seed: Seed, iter: 8, threads: 1, print: m => m.Spec.ToJson() + " seed " + m.TorchSeed);
    }

    [Fact]
    public void Exported_file_cut_short_is_refused_with_InvalidDataException_or_loads_the_same_model()
    {
        TorchRuntime.SetThreads(TestData.Threads);
        var gen = from m in Models
                  from keep in Gen.Double[0, 1]
                  select (m.Spec, m.TorchSeed, keep);
        gen.Sample(t =>
        {
            using var model = Create(t.Spec, t.TorchSeed);
            var bytes = OnnxExporter.ToBytes(model);
            var cut = bytes.AsSpan(0, (int)(t.keep * (bytes.Length - 1))).ToArray();
            try
            {
                using var loaded = OnnxModelLoader.Load(cut);
                Assert.Equal(t.Spec, loaded.Spec); // only trailing optional metadata may be lost
            }
            catch (InvalidDataException e)
            {
                Assert.False(string.IsNullOrWhiteSpace(e.Message));
            }
        }, seed: Seed, iter: 20, threads: 1, print: t => $"{t.Spec.ToJson()} seed {t.TorchSeed} keep {t.keep}");
    }
}
