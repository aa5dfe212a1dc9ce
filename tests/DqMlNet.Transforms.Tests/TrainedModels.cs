using System.Collections.Concurrent;
using DqMlNet.Data;
using DqMlNet.Models;
using DqMlNet.Training;
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

    /// <summary>Named models: "fp", "vq4", "dq4" (SmallCnn, 2,000 images), "vgg-fp", "vgg-vq4", "wrn-fp", "wrn-vq4", "vq4-w4".</summary>
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
        bool small = spec.Architecture == Architecture.SmallCnn;
        var options = new DqTrainerOptions { Epochs = 1, BatchSize = 64, Seed = 0, Threads = TestData.Threads, Beta = BetaOf(name) };
        var data = Train;
        var model = new DqTrainer(spec, options).Fit(data).Model;
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
