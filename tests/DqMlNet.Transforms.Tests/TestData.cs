using DqMlNet.Data;
using DqMlNet.Models;
using DqMlNet.Runtime;

namespace DqMlNet.Transforms.Tests;

/// <summary>The committed Fashion-MNIST fixture (2,000 train / 1,000 test) and shared settings.</summary>
internal static class TestData
{
    public const int Threads = 2;

    public static string FixtureDirectory => Path.Combine(AppContext.BaseDirectory, "fixtures", "fashion-mnist-small");

    public static ImageDataset Load(DatasetSplit split, int? limit = null)
    {
        TorchRuntime.SetThreads(Threads);
        return IdxDatasetFiles.InDirectory(FixtureDirectory, "fixture").Load(split, FashionMnist.ClassNames, limit);
    }

    public static ModelSpec Spec(Architecture architecture, TrainingMode mode, int bits = 4, int? weightBits = null) => new()
    {
        Architecture = architecture,
        Mode = mode,
        ActivationBits = bits,
        WeightBits = weightBits,
        Channels = 1, Height = 28, Width = 28, NumClasses = 10,
        Mean = new[] { 0.286f }, Std = new[] { 0.353f },
        Depth = architecture switch { Architecture.Vgg => 11, Architecture.WideResNet => 10, _ => 16 },
        WidthFactor = architecture == Architecture.Vgg ? 0.125 : 1,
    };

    public static string TempDirectory()
    {
        var dir = Path.Combine(Path.GetTempPath(), "dqmlnet-onnx-tests-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        return dir;
    }
}
