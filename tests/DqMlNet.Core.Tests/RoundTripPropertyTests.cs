using CsCheck;
using DqMlNet.Data;
using DqMlNet.Models;
using DqMlNet.TorchTraining;

namespace DqMlNet.Tests;

/// <summary>
/// Round-trip properties of the writers and readers of checkpoints and dataset files, over generated values drawn from
/// small ranges (CsCheck, fixed seeds, one thread: same result on every run). A failure prints the smallest input found.
/// </summary>
public sealed class RoundTripPropertyTests : IDisposable
{
    // A fixed CsCheck seed per property: a failure reproduces exactly; change it to explore other inputs.
    private const string Seed = "0N0XIzNsQ0O2";

    private readonly string _dir = TestData.TempDirectory();

    public void Dispose()
    {
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }

    private static readonly Gen<ModelSpec> Specs =
        from arch in Gen.OneOf(Architecture.SmallCnn, Architecture.Vgg, Architecture.WideResNet)
        from mode in Gen.OneOf(TrainingMode.FullPrecision, TrainingMode.Vanilla, TrainingMode.Defensive)
        from activationBits in Gen.Int[1, 8]
        from weightBits in Gen.Int[1, 8] // 1 stands for "not quantized" (null)
        from channels in Gen.OneOf(1, 3)
        from height in Gen.Int[4, 32]
        from width in Gen.Int[4, 32]
        from classes in Gen.Int[2, 20]
        from mean in Gen.Float[0f, 1f].Array[channels]
        from std in Gen.Float[0.05f, 2f].Array[channels]
        from batchNorm in Gen.Bool
        select new ModelSpec
        {
            Architecture = arch, Mode = mode, ActivationBits = activationBits, WeightBits = weightBits == 1 ? null : weightBits,
            Channels = channels, Height = height, Width = width, NumClasses = classes, Mean = mean, Std = std,
            Depth = arch switch { Architecture.Vgg => 11, Architecture.WideResNet => 10, _ => 16 }, BatchNorm = batchNorm,
        };

    private static readonly Gen<EpochSummary> Epochs =
        from epoch in Gen.Int[1, 100]
        from ce in Gen.Double[0, 10]
        from reg in Gen.Double[0, 10]
        from acc in Gen.Double[0, 1]
        from validation in Gen.Double[0, 1].Nullable()
        from lr in Gen.Double[1e-5, 1]
        from seconds in Gen.Double[0, 1000]
        select new EpochSummary(epoch, ce, reg, acc, validation, lr, seconds, seconds * 3);

    private static readonly Gen<Checkpoint> Checkpoints =
        from spec in Specs
        from recipe in Gen.String[Gen.Char.AlphaNumeric, 0, 40]
        from cosine in Gen.Int[1, 300].Nullable()
        from data in Gen.Byte.Array[32]
        from epochs in Gen.Int[1, 1000]
        from history in Epochs.Array[0, 4]
        from model in Gen.Byte.Array[0, 3000]
        from optimizer in Gen.Byte.Array[0, 3000]
        from rng in Gen.Byte.Array[0, 600]
        from probe in Gen.Byte.Array[0, 40]
        select new Checkpoint
        {
            Spec = spec, Fingerprint = new ResumeFingerprint(recipe, cosine, Convert.ToHexString(data)), EpochsCompleted = epochs,
            History = history.ToList(), ModelState = model, OptimizerState = optimizer, TorchRngState = rng, ProbeRngState = probe,
        };

    [Fact]
    public void Checkpoint_save_then_load_returns_every_field()
    {
        var path = Path.Combine(_dir, Checkpoint.FileName);
        Checkpoints.Sample(saved =>
        {
            saved.Spec.Validate();
            saved.Save(path);
            var loaded = Checkpoint.Load(path);
            Assert.Equal(saved.Spec, loaded.Spec);
            Assert.Equal(saved.Fingerprint, loaded.Fingerprint);
            Assert.Equal(saved.EpochsCompleted, loaded.EpochsCompleted);
            Assert.Equal(saved.History, loaded.History);
            Assert.Equal(saved.ModelState, loaded.ModelState);
            Assert.Equal(saved.OptimizerState, loaded.OptimizerState);
            Assert.Equal(saved.TorchRngState, loaded.TorchRngState);
            Assert.Equal(saved.ProbeRngState, loaded.ProbeRngState);
        }, seed: Seed, iter: 40, threads: 1);
    }

    [Fact]
    public void Checkpoint_with_any_byte_changed_or_cut_off_is_refused_with_InvalidDataException()
    {
        var path = Path.Combine(_dir, Checkpoint.FileName);
        var gen = from checkpoint in Checkpoints
                  from cut in Gen.Bool
                  from position in Gen.Double[0, 1]
                  from flip in Gen.Byte[1, 255]
                  select (checkpoint, cut, position, flip);
        gen.Sample(t =>
        {
            t.checkpoint.Save(path);
            var bytes = File.ReadAllBytes(path);
            int at = Math.Min(bytes.Length - 1, (int)(t.position * bytes.Length));
            if (t.cut) bytes = bytes.AsSpan(0, at).ToArray();
            else bytes[at] ^= t.flip;
            File.WriteAllBytes(path, bytes);
            Assert.Throws<InvalidDataException>(() => Checkpoint.Load(path));
        }, seed: Seed, iter: 60, threads: 1);
    }

    [Fact]
    public void Idx_write_then_read_returns_the_same_images_and_labels()
    {
        var gen = from count in Gen.Int[1, 6]
                  from rows in Gen.Int[1, 12]
                  from cols in Gen.Int[1, 12]
                  from pixels in Gen.Byte.Array[count * rows * cols]
                  from labels in Gen.Byte.Array[count]
                  from gzip in Gen.Bool
                  select (count, rows, cols, pixels, labels, gzip);
        gen.Sample(t =>
        {
            string ext = t.gzip ? ".gz" : "";
            var images = Path.Combine(_dir, "images-idx3-ubyte" + ext);
            var labels = Path.Combine(_dir, "labels-idx1-ubyte" + ext);
            IdxFile.WriteImages(images, t.pixels, t.count, t.rows, t.cols);
            IdxFile.WriteLabels(labels, t.labels);
            var read = IdxFile.ReadImages(images);
            Assert.Equal((t.count, t.rows, t.cols), (read.Count, read.Rows, read.Columns));
            Assert.Equal(t.pixels, read.Pixels);
            Assert.Equal(t.labels, IdxFile.ReadLabels(labels));
        }, seed: Seed, iter: 40, threads: 1);
    }

    [Fact]
    public void Idx_file_with_its_last_byte_missing_or_one_byte_extra_is_refused()
    {
        var gen = from count in Gen.Int[1, 4]
                  from side in Gen.Int[1, 8]
                  from gzip in Gen.Bool
                  from extra in Gen.Bool
                  select (count, side, gzip, extra);
        gen.Sample(t =>
        {
            var path = Path.Combine(_dir, "images-idx3-ubyte");
            IdxFile.WriteImages(path, new byte[t.count * t.side * t.side], t.count, t.side, t.side);
            var bytes = File.ReadAllBytes(path);
            bytes = t.extra ? bytes.Append((byte)7).ToArray() : bytes[..^1];
            if (t.gzip)
            {
                using var ms = new MemoryStream();
                using (var gz = new System.IO.Compression.GZipStream(ms, System.IO.Compression.CompressionLevel.Fastest, leaveOpen: true)) gz.Write(bytes);
                bytes = ms.ToArray();
            }
            File.WriteAllBytes(path, bytes);
            var e = Assert.Throws<InvalidDataException>(() => IdxFile.ReadImages(path));
            Assert.Contains(path, e.Message);
        }, seed: Seed, iter: 30, threads: 1);
    }

    [Fact]
    public void Cifar10_batch_write_then_read_returns_the_same_records()
    {
        var gen = from n in Gen.Int[1, 3]
                  from pixels in Gen.Byte.Array[n * Cifar10BinaryFile.PixelsPerImage]
                  from labels in Gen.Byte[0, 9].Array[n]
                  select (n, pixels, labels);
        gen.Sample(t =>
        {
            var path = Path.Combine(_dir, "data_batch_1.bin");
            Cifar10BinaryFile.Write(path, t.pixels, t.labels);
            Assert.Equal(t.n, Cifar10BinaryFile.CountRecords(path));
            var (pixels, labels) = Cifar10BinaryFile.Read(path);
            Assert.Equal(t.pixels, pixels);
            Assert.Equal(t.labels, labels);
        }, seed: Seed, iter: 20, threads: 1);
    }

    [Fact]
    public void Mat_v5_write_then_read_returns_the_same_array_in_every_layout()
    {
        var gen = from dims in Gen.Int[1, 5].Array[2, 4]
                  from data in Gen.Byte.Array[dims.Aggregate(1, (a, b) => a * b)]
                  from labels in Gen.Double[-1e6, 1e6].Array[3]
                  from compressed in Gen.Bool
                  from bigEndian in Gen.Bool
                  select (dims, data, labels, compressed, bigEndian);
        gen.Sample(t =>
        {
            var path = Path.Combine(_dir, "any.mat");
            new MatV5TestWriter(t.compressed, t.bigEndian)
                .AddUInt8("X", t.dims, t.data)
                .AddDouble("y", new[] { 3, 1 }, t.labels)
                .Save(path);
            var mat = MatV5Reader.Read(path, "X", "y");
            var x = mat.Get("X");
            Assert.Equal(MatClass.UInt8, x.Class);
            Assert.Equal(t.dims, x.Dimensions);
            Assert.Equal(t.data, x.ToByteArray());
            Assert.Equal(t.labels, mat.Get("y").ToDoubleArray());
        }, seed: Seed, iter: 30, threads: 1);
    }
}
