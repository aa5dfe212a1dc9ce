using DqMlNet.Data;
using DqMlNet.Models;
using DqMlNet.Runtime;

namespace DqMlNet.Tests;

/// <summary>The committed Fashion-MNIST fixture (2,000 train / 1,000 test, class-balanced) and shared settings.</summary>
internal static class TestData
{
    public const int Threads = 2;

    public static string FixtureDirectory => Path.Combine(AppContext.BaseDirectory, "fixtures", "fashion-mnist-small");

    public static IdxDatasetFiles FixtureFiles => IdxDatasetFiles.InDirectory(FixtureDirectory, "fixture");

    public static ImageDataset Load(DatasetSplit split, int? limit = null)
    {
        TorchRuntime.SetThreads(Threads);
        return FixtureFiles.Load(split, FashionMnist.ClassNames, limit);
    }

    public static ModelSpec SmallCnn(TrainingMode mode, int bits = 4) => new()
    {
        Architecture = Architecture.SmallCnn,
        Mode = mode,
        ActivationBits = bits,
        Channels = 1, Height = 28, Width = 28, NumClasses = 10,
        Mean = new[] { 0.286f }, Std = new[] { 0.353f },
    };

    public static string TempDirectory()
    {
        var dir = Path.Combine(Path.GetTempPath(), "dqmlnet-tests-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        return dir;
    }
}
