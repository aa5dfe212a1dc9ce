using DqMlNet.Data;
using DqMlNet.Runtime;
using DqMlNet.Trainers;
using Microsoft.ML;

namespace DqMlNet.Tests;

/// <summary>Process-wide settings change only when the application asks: DqRuntime.ConfigureProcess, or a thread count named in the options.</summary>
public class ProcessSettingsTests
{
    [Fact]
    public void ConfigureProcessRaisesLibTorchsLogLevelToErrorsUnlessTheUserChoseOne()
    {
        Assert.True(string.IsNullOrEmpty(Environment.GetEnvironmentVariable(LibTorchLogging.LevelVariable)),
            $"this test checks the default; unset {LibTorchLogging.LevelVariable} to run it");
        // The level is read back from c10's own flag: null would mean the library or its flag was not found.
        Assert.Equal(2, DqRuntime.ConfigureProcess(threads: null, tuneMalloc: false).LibTorchLogLevel);
        Assert.Null(DqRuntime.ConfigureProcess(threads: null, tuneMalloc: false, quietLibTorchLog: false).LibTorchLogLevel);
        Assert.Equal(2, LibTorchLogging.Apply());
    }

    [Fact]
    public void TrainingLeavesLibTorchThreadsAloneUnlessTheOptionsNameACount()
    {
        var rows = VectorData.Rows(DatasetSplit.Train, 128); // (loading the fixture sets the tests' thread count)
        var configured = DqRuntime.ConfigureProcess(threads: 1, tuneMalloc: false);
        Assert.Equal(1, configured.Threads);
        Assert.False(configured.MallocTuned);
        Assert.Equal(1, TorchRuntime.Threads);
        try
        {
            Fit(threads: null);
            Assert.Equal(1, TorchRuntime.Threads); // the library kept the application's choice
            Fit(threads: 2);
            Assert.Equal(2, TorchRuntime.Threads); // a count the caller named is applied
            Assert.Null(DqRuntime.ConfigureProcess(threads: null, tuneMalloc: false).Threads);
            Assert.Equal(2, TorchRuntime.Threads);
        }
        finally
        {
            TorchRuntime.SetThreads(TestData.Threads);
        }

        void Fit(int? threads)
        {
            var ml = new MLContext(seed: 0);
            using var stage = ml.Transforms.Conversion.MapValueToKey("Label")
                .Append(ml.DefensiveQuantize(new DefensiveQuantizationEstimator.Options { MaxEpoch = 1, BatchSize = 64, Threads = threads }))
                .Fit(ml.Data.LoadFromEnumerable(rows)).LastTransformer;
        }
    }
}
