using System.Collections.Concurrent;
using DqMlNet.Data;
using DqMlNet.Models;
using DqMlNet.TorchTraining;
using static TorchSharp.torch;

namespace DqMlNet.Transforms.Tests;

/// <summary>Models trained once (1 epoch on the fixture) and shared by every test of the collection.</summary>
public sealed class TrainedModels : IDisposable
{
    private readonly ConcurrentDictionary<string, Lazy<DqModel>> models = new();
    private readonly Lazy<ImageDataset> train = new(() => TestData.Load(DatasetSplit.Train));
    private readonly Lazy<ImageDataset> test = new(() => TestData.Load(DatasetSplit.Test));

    public ImageDataset Train => train.Value;

    public ImageDataset Test => test.Value;

    public string Directory { get; } = TestData.TempDirectory();

    /// <summary>
    /// Named models: "fp", "vq4", "dq4" (SmallCnn trained 1 epoch on the first 1,000 fixture training images); "vgg-fp", "vgg-vq4",
    /// "wrn-fp", "wrn-vq4", "vq4-w4" (SmallCnn with BatchNorm and 4-bit weights): untrained, BatchNorm-calibrated.
    /// </summary>
    public DqModel Get(string name) => models.GetOrAdd(name, n => new Lazy<DqModel>(() => Create(n))).Value;

    public static ModelSpec SpecOf(string name) => name switch
    {
        "fp" => TestData.Spec(Architecture.SmallCnn, TrainingMode.FullPrecision),
        "vq4" => TestData.Spec(Architecture.SmallCnn, TrainingMode.Vanilla),
        "dq4" => TestData.Spec(Architecture.SmallCnn, TrainingMode.Defensive),
        "vq4-w4" => TestData.Spec(Architecture.SmallCnn, TrainingMode.Vanilla, weightBits: 4) with { BatchNorm = true },
        "vgg-fp" => TestData.Spec(Architecture.Vgg, TrainingMode.FullPrecision),
        "vgg-vq4" => TestData.Spec(Architecture.Vgg, TrainingMode.Vanilla),
        "wrn-fp" => TestData.Spec(Architecture.WideResNet, TrainingMode.FullPrecision),
        "wrn-vq4" => TestData.Spec(Architecture.WideResNet, TrainingMode.Vanilla),
        _ => throw new ArgumentException(name),
    };

    public static double BetaOf(string name) => SpecOf(name).Mode == TrainingMode.Defensive ? 2e-3 : 0;

    private DqModel Create(string name)
    {
        var spec = SpecOf(name);
        if (name is "fp" or "vq4" or "dq4")
        {
            var options = new DqTrainerOptions { Epochs = 1, BatchSize = 64, Seed = 0, Threads = TestData.Threads, Beta = BetaOf(name) };
            using var half = Train.Take(1000); // keeps the project well under 2 minutes on 2 cores
            var trained = new DqTrainer(spec, options).Fit(half).Model;
            trained.eval();
            return trained;
        }
        return Calibrated(spec);
    }

    /// <summary>
    /// An untrained model whose BatchNorm statistics are calibrated on 256 training images (cumulative averages), so its
    /// activations are in a realistic range; far cheaper than training VGG/WRN in a unit test.
    /// </summary>
    private DqModel Calibrated(ModelSpec spec)
    {
        var images = Train.Images; // load outside the dispose scope below
        manual_seed(0);
        var model = ModelFactory.Create(spec);
        foreach (var bn in model.modules().OfType<TorchSharp.Modules.BatchNorm2d>()) bn.momentum = null;
        model.train();
        using (no_grad())
        {
            for (long start = 0; start < 256; start += 128)
            {
                using var scope = NewDisposeScope();
                model.call(images.narrow(0, start, 128));
            }
        }
        model.eval();
        return model;
    }

    /// <summary>TorchSharp's softmax probabilities [N × classes] (eval mode, no gradients).</summary>
    public static float[] TorchProbabilities(DqModel model, Tensor images)
    {
        model.eval();
        using var noGrad = no_grad();
        var result = new List<float>();
        for (long start = 0; start < images.shape[0]; start += 250)
        {
            using var scope = NewDisposeScope();
            var logits = model.call(images.narrow(0, start, Math.Min(250, images.shape[0] - start)));
            result.AddRange(nn.functional.softmax(logits, 1).contiguous().data<float>().ToArray());
        }
        return result.ToArray();
    }

    public static int[] ArgMax(float[] rows, int classes)
    {
        var labels = new int[rows.Length / classes];
        for (int i = 0; i < labels.Length; i++)
        {
            int best = 0;
            for (int c = 1; c < classes; c++) if (rows[i * classes + c] > rows[i * classes + best]) best = c;
            labels[i] = best;
        }
        return labels;
    }

    public void Dispose()
    {
        foreach (var m in models.Values) if (m.IsValueCreated) m.Value.Dispose();
        if (train.IsValueCreated) train.Value.Dispose();
        if (test.IsValueCreated) test.Value.Dispose();
        try { System.IO.Directory.Delete(Directory, recursive: true); } catch (IOException) { }
    }
}

[CollectionDefinition(Name)]
public sealed class TrainedModelsCollection : ICollectionFixture<TrainedModels>
{
    public const string Name = "Trained models";
}

/// <summary>Comparison numbers of two probability arrays.</summary>
internal readonly record struct Agreement(double LabelAgreement, double MaxProbabilityDifference)
{
    public static Agreement Of(float[] expected, float[] actual, int classes)
    {
        Assert.Equal(expected.Length, actual.Length);
        var a = TrainedModels.ArgMax(expected, classes);
        var b = TrainedModels.ArgMax(actual, classes);
        double same = a.Zip(b).Count(p => p.First == p.Second) / (double)a.Length;
        double max = 0;
        for (int i = 0; i < expected.Length; i++) max = Math.Max(max, Math.Abs(expected[i] - actual[i]));
        return new Agreement(same, max);
    }

    public override string ToString() => $"labels agree {LabelAgreement:P1}, max |Δp| {MaxProbabilityDifference:G3}";
}
