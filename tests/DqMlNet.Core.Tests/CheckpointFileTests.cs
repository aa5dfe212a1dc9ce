using System.Security.Cryptography;
using System.Text;
using DqMlNet.Data;
using DqMlNet.Models;
using DqMlNet.TorchTraining;
using static TorchSharp.torch;

namespace DqMlNet.Tests;

/// <summary>Checkpoints as hostile input, the resume fingerprint, and divergence never replacing a good checkpoint.</summary>
public sealed class CheckpointFileTests : IDisposable
{
    private readonly string dir = TestData.TempDirectory();

    public void Dispose() => Directory.Delete(dir, recursive: true);

    private static DqTrainerOptions Options(string? checkpoints) => new()
    {
        Epochs = 1, BatchSize = 32, Seed = 5, Threads = TestData.Threads, CheckpointDirectory = checkpoints,
    };

    private string TrainOneEpoch(ImageDataset train)
    {
        var checkpoints = Path.Combine(dir, "ck");
        new DqTrainer(TestData.SmallCnn(TrainingMode.Vanilla), Options(checkpoints)).Fit(train).Model.Dispose();
        return Path.Combine(checkpoints, Checkpoint.FileName);
    }

    [Fact]
    public void Truncated_or_altered_checkpoint_is_refused_by_its_checksum()
    {
        using var train = TestData.Load(DatasetSplit.Train, limit: 64);
        var path = TrainOneEpoch(train);
        var bytes = File.ReadAllBytes(path);

        File.WriteAllBytes(path, bytes.AsSpan(0, bytes.Length / 2).ToArray());
        var ex = Assert.Throws<InvalidDataException>(() => Checkpoint.Load(path));
        Assert.Contains(path, ex.Message);
        Assert.Contains("checksum", ex.Message);
        // Fit refuses it too, and says how to start afresh.
        var fit = Assert.Throws<InvalidDataException>(() =>
            new DqTrainer(TestData.SmallCnn(TrainingMode.Vanilla), Options(Path.GetDirectoryName(path)) with { Epochs = 2 }).Fit(train));
        Assert.Contains("Resume = false", fit.Message);

        var flipped = (byte[])bytes.Clone();
        flipped[bytes.Length / 2] ^= 1;
        File.WriteAllBytes(path, flipped);
        Assert.Contains("checksum", Assert.Throws<InvalidDataException>(() => Checkpoint.Load(path)).Message);
    }

    [Fact]
    public void Declared_length_beyond_the_file_is_refused_even_with_a_valid_checksum()
    {
        using var train = TestData.Load(DatasetSplit.Train, limit: 64);
        var path = TrainOneEpoch(train);
        var bytes = File.ReadAllBytes(path);
        // Find the model-state length field by reading the header the way the format lays it out.
        int offset;
        using (var r = new BinaryReader(new MemoryStream(bytes), Encoding.UTF8))
        {
            r.ReadBytes(8);
            r.ReadString(); r.ReadString(); r.ReadInt32(); r.ReadString();
            offset = (int)r.BaseStream.Position;
        }
        BitConverter.GetBytes(1L << 40).CopyTo(bytes, offset); // 1 TiB of model state
        SHA256.HashData(bytes.AsSpan(0, bytes.Length - 32)).CopyTo(bytes, bytes.Length - 32);
        File.WriteAllBytes(path, bytes);
        long before = GC.GetTotalAllocatedBytes(precise: true);
        var ex = Assert.Throws<InvalidDataException>(() => Checkpoint.Load(path));
        Assert.True(GC.GetTotalAllocatedBytes(precise: true) - before < 50_000_000);
        Assert.Contains("the model state declares 1,099,511,627,776 bytes", ex.Message);
    }

    [Fact]
    public void Resume_fingerprint_covers_the_data_and_the_cosine_epoch_count()
    {
        using var train = TestData.Load(DatasetSplit.Train, limit: 64);
        var checkpoints = Path.Combine(dir, "ck");
        var spec = TestData.SmallCnn(TrainingMode.Vanilla);
        var cosine = Options(checkpoints) with { Epochs = 3, Schedule = LearningRateSchedule.Cosine };
        // One epoch of a 3-epoch cosine run: cancel after the first epoch's checkpoint.
        using (var cts = new CancellationTokenSource())
        {
            var progress = new SyncProgress(p => { if (p.Batch == p.Batches) cts.Cancel(); });
            Assert.Throws<OperationCanceledException>(() => new DqTrainer(spec, cosine).Fit(train, null, progress, cts.Token));
        }

        using var other = TestData.Load(DatasetSplit.Test, limit: 64);
        var data = Assert.Throws<InvalidOperationException>(() => new DqTrainer(spec, cosine).Fit(other));
        Assert.Contains("the training data differ", data.Message);

        var epochs = Assert.Throws<InvalidOperationException>(() => new DqTrainer(spec, cosine with { Epochs = 4 }).Fit(train));
        Assert.Contains("cosine schedule's epoch count differs (checkpoint: 3; now: 4)", epochs.Message);

        // The same run resumes.
        using var resumed = new DqTrainer(spec, cosine).Fit(train).Model;
        Assert.Equal(3, Checkpoint.Load(Path.Combine(checkpoints, Checkpoint.FileName)).EpochsCompleted);
    }

    [Fact]
    public void Diverged_parameters_never_reach_a_checkpoint()
    {
        using var train = TestData.Load(DatasetSplit.Train, limit: 64);
        var checkpoints = Path.Combine(dir, "ck");
        // One batch per epoch; plain SGD whose rate × weight decay (1e60) overflows float: the first step makes the weights
        // infinite while the loss it was computed from was finite, so only the parameter check can catch it.
        var options = Options(checkpoints) with
        {
            BatchSize = 64, Optimizer = OptimizerKind.SgdNesterov, Momentum = 0, LearningRate = 1e30, WeightDecay = 1e30,
        };
        var ex = Assert.Throws<InvalidOperationException>(() => new DqTrainer(TestData.SmallCnn(TrainingMode.Vanilla), options).Fit(train));
        Assert.Contains("Training diverged", ex.Message);
        Assert.Contains("became non-finite", ex.Message);
        Assert.False(File.Exists(Path.Combine(checkpoints, Checkpoint.FileName)));
    }

    private sealed class SyncProgress(Action<TrainingProgress> report) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value) => report(value);
    }
}

/// <summary>ModelSpec's bounds and its weight count, which the ONNX loader compares with a file before building.</summary>
public sealed class ModelSpecBoundsTests
{
    [Theory]
    [InlineData(Architecture.SmallCnn, 16, 1.0, 1, 28)]
    [InlineData(Architecture.SmallCnn, 16, 1.0, 3, 33)]
    [InlineData(Architecture.Vgg, 11, 0.25, 3, 32)]
    [InlineData(Architecture.Vgg, 19, 0.125, 1, 28)]
    [InlineData(Architecture.WideResNet, 10, 1.0, 3, 32)]
    [InlineData(Architecture.WideResNet, 16, 2.0, 3, 32)]
    public void Weight_count_matches_the_built_model(Architecture architecture, int depth, double width, int channels, int size)
    {
        var spec = new ModelSpec
        {
            Architecture = architecture, Depth = depth, WidthFactor = width, Channels = channels, Height = size, Width = size,
            Mean = Enumerable.Repeat(0.5f, channels).ToArray(), Std = Enumerable.Repeat(0.5f, channels).ToArray(),
        };
        spec.Validate();
        using var model = ModelFactory.Create(spec);
        long built = model.WeightLayers.Sum(l => l.Weight.numel());
        Assert.Equal(built, spec.WeightCount());
    }

    [Fact]
    public void Every_field_has_an_upper_bound()
    {
        var ok = new ModelSpec();
        ok.Validate();
        Assert.Contains("Channels", Assert.Throws<ArgumentException>(() => (ok with { Channels = 100_000, Mean = new float[100_000], Std = Enumerable.Repeat(1f, 100_000).ToArray() }).Validate()).Message);
        Assert.Contains("pixels per side", Assert.Throws<ArgumentException>(() => (ok with { Height = 1 << 20 }).Validate()).Message);
        Assert.Contains("NumClasses", Assert.Throws<ArgumentException>(() => (ok with { NumClasses = int.MaxValue }).Validate()).Message);
        Assert.Contains("Depth", Assert.Throws<ArgumentException>(() => (ok with { Architecture = Architecture.WideResNet, Depth = 6 * 100_000 + 4 }).Validate()).Message);
        Assert.Contains("WidthFactor", Assert.Throws<ArgumentException>(() => (ok with { Architecture = Architecture.Vgg, WidthFactor = 1e6 }).Validate()).Message);
        // Within every per-field bound, the total is bounded too: SmallCnn at 4096×4096 would have 17 G weights.
        var huge = Assert.Throws<ArgumentException>(() => (ok with { Height = 4096, Width = 4096 }).Validate());
        Assert.Contains("more than the limit of 200,000,000", huge.Message);
        Assert.Throws<ArgumentException>(() => (ok with { Mean = new[] { float.NaN } }).Validate());
    }
}
