using System.Formats.Tar;
using System.IO.Compression;
using System.Text;
using DqMlNet.Data;
using DqMlNet.Models;
using DqMlNet.Tests;
using DqMlNet.Trainers;
using DqMlNet.TorchTraining;
using DqMlNet.Transforms.Onnx;
using Microsoft.ML;
using Microsoft.ML.Data;
using SkiaSharp;

namespace DqMlNet.Fuzz;

/// <summary>
/// Seed corpora: small valid files of every format, made from the committed Fashion-MNIST fixture and from tiny models
/// trained and exported with the library itself (4×4 inputs keep the model files small enough to mutate quickly).
/// </summary>
internal static class Seeds
{
    public static void Write(string repoRoot, string output)
    {
        var fixture = Path.Combine(repoRoot, "tests", "fixtures", "fashion-mnist-small");
        var (pixels, count, rows, cols) = IdxFile.ReadImages(Path.Combine(fixture, "t10k-images-idx3-ubyte.gz"));
        var labels = IdxFile.ReadLabels(Path.Combine(fixture, "t10k-labels-idx1-ubyte.gz"));
        int image = rows * cols;
        var two = pixels.AsSpan(0, 2 * image).ToArray();

        string Dir(string target) => Directory.CreateDirectory(Path.Combine(output, target)).FullName;

        IdxFile.WriteImages(Path.Combine(Dir("idx"), "images-idx3-ubyte"), two, 2, rows, cols);
        IdxFile.WriteLabels(Path.Combine(Dir("idx"), "labels-idx1-ubyte"), labels.AsSpan(0, 2));
        IdxFile.WriteImages(Path.Combine(Dir("idx-gz"), "images-idx3-ubyte.gz"), two, 2, rows, cols);
        IdxFile.WriteLabels(Path.Combine(Dir("idx-gz"), "labels-idx1-ubyte.gz"), labels.AsSpan(0, 2));

        var cifarPixels = Enumerable.Range(0, 2 * Cifar10BinaryFile.PixelsPerImage).Select(i => (byte)(i * 7)).ToArray();
        Cifar10BinaryFile.Write(Path.Combine(Dir("cifar-bin"), "data_batch_1.bin"), cifarPixels, new byte[] { 3, 9 });

        File.WriteAllBytes(Path.Combine(Dir("cifar-tgz"), "cifar-10-binary.tar.gz"), CifarArchive(cifarPixels.AsSpan(0, Cifar10BinaryFile.PixelsPerImage).ToArray()));

        var svhnX = Enumerable.Range(0, 32 * 32 * 3).Select(i => (byte)i).ToArray();
        foreach (bool compressed in new[] { false, true })
            new MatV5TestWriter(compressed)
                .AddUInt8("X", new[] { 32, 32, 3 }, svhnX)
                .AddDouble("y", new[] { 1, 1 }, new[] { 10.0 })
                .Save(Path.Combine(Dir("mat"), compressed ? "svhn-v7.mat" : "svhn-v6.mat"));

        File.WriteAllBytes(Path.Combine(Dir("npm-json"), "0.json"), NpmClassJson(0, Targets.NpmPerClass));

        var dir = Dir("image");
        File.WriteAllBytes(Path.Combine(dir, "fashion-28x28.png"), Encode(two.AsSpan(0, image).ToArray(), cols, rows, SKEncodedImageFormat.Png));
        File.WriteAllBytes(Path.Combine(dir, "fashion-28x28.jpg"), Encode(two.AsSpan(0, image).ToArray(), cols, rows, SKEncodedImageFormat.Jpeg));
        File.WriteAllBytes(Path.Combine(dir, "gradient-5x3.png"), Encode(Enumerable.Range(0, 15).Select(i => (byte)(i * 17)).ToArray(), 5, 3, SKEncodedImageFormat.Png));
        foreach (var file in Directory.GetFiles(dir)) File.Copy(file, Path.Combine(Dir("image-crc"), Path.GetFileName(file)), overwrite: true);

        foreach (var (name, mode) in new[] { ("fp", TrainingMode.FullPrecision), ("vq4", TrainingMode.Vanilla) })
        {
            using var model = ModelFactory.Create(TinySpec(mode));
            model.eval();
            File.WriteAllBytes(Path.Combine(Dir("onnx"), $"smallcnn-4x4-{name}.onnx"), OnnxExporter.ToBytes(model));
        }

        File.WriteAllBytes(Path.Combine(Dir("zip"), "dq-4x4.zip"), ModelZip(pixels, labels));
        File.WriteAllBytes(Path.Combine(Dir("checkpoint"), "checkpoint-body.dqck"), CheckpointBody(pixels, labels));
    }

    /// <summary>SmallCnn on 4×4 grey images, 3 classes: about 37,000 weights.</summary>
    private static ModelSpec TinySpec(TrainingMode mode) => new()
    {
        Architecture = Architecture.SmallCnn, Mode = mode, Channels = 1, Height = 4, Width = 4, NumClasses = 3,
        Mean = new[] { 0.5f }, Std = new[] { 0.5f },
    };

    /// <summary>Fixture images reduced to their 4×4 top-left corner, labels folded to 3 classes.</summary>
    private static (byte[] Pixels, byte[] Labels) Tiny(byte[] pixels, byte[] labels, int n)
    {
        var p = new byte[n * 16];
        for (int i = 0; i < n; i++)
        for (int y = 0; y < 4; y++)
        for (int x = 0; x < 4; x++)
            p[i * 16 + y * 4 + x] = pixels[i * 784 + (12 + y) * 28 + 12 + x];
        return (p, labels.Take(n).Select(l => (byte)(l % 3)).ToArray());
    }

    private sealed class Row
    {
        [VectorType(16)] public float[] Features { get; set; } = Array.Empty<float>();
        public string Label { get; set; } = "";
    }

    private static byte[] ModelZip(byte[] pixels, byte[] labels)
    {
        var (p, l) = Tiny(pixels, labels, 48);
        var ml = new MLContext(seed: 0);
        var rows = Enumerable.Range(0, l.Length).Select(i => new Row
        {
            Features = p.AsSpan(i * 16, 16).ToArray().Select(b => b / 255f).ToArray(), Label = "class" + l[i],
        }).ToList();
        var data = ml.Data.LoadFromEnumerable(rows);
        var pipeline = ml.Transforms.Conversion.MapValueToKey("Label")
            .Append(ml.DefensiveQuantize(new DefensiveQuantizationEstimator.Options
            {
                Mode = TrainingMode.Defensive, ActivationBits = 4, ImageChannels = 1, ImageHeight = 4, ImageWidth = 4,
                MaxEpoch = 1, BatchSize = 16, Seed = 1, Threads = 1,
            }));
        var model = pipeline.Fit(data);
        var path = Path.Combine(Path.GetTempPath(), $"dqmlnet-fuzz-seed-{Environment.ProcessId}.zip");
        ml.Model.Save(model, data.Schema, path);
        try { return Stored(File.ReadAllBytes(path)); }
        finally { File.Delete(path); }
    }

    /// <summary>The same zip with every entry stored (uncompressed), so that mutations reach the entries' content.</summary>
    private static byte[] Stored(byte[] zip)
    {
        var output = new MemoryStream();
        using (var source = new ZipArchive(new MemoryStream(zip), ZipArchiveMode.Read))
        using (var target = new ZipArchive(output, ZipArchiveMode.Create, leaveOpen: true))
        {
            foreach (var entry in source.Entries)
            {
                var copy = target.CreateEntry(entry.FullName, CompressionLevel.NoCompression);
                using var from = entry.Open();
                using var to = copy.Open();
                from.CopyTo(to);
            }
        }
        return output.ToArray();
    }

    private static byte[] CheckpointBody(byte[] pixels, byte[] labels)
    {
        var (p, l) = Tiny(pixels, labels, 32);
        var dir = Path.Combine(Path.GetTempPath(), $"dqmlnet-fuzz-ckpt-{Environment.ProcessId}");
        try
        {
            using var data = ImageDataset.FromBytes(p, l, 1, 4, 4, new[] { "a", "b", "c" });
            var options = new DqTrainerOptions { Epochs = 1, BatchSize = 16, Seed = 0, Threads = 1, CheckpointDirectory = dir };
            using var _ = new DqTrainer(TinySpec(TrainingMode.Vanilla), options).Fit(data).Model;
            var file = File.ReadAllBytes(Path.Combine(dir, "checkpoint.dqck"));
            return file.AsSpan(0, file.Length - 32).ToArray(); // the harness appends the SHA-256 trailer
        }
        finally
        {
            if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
        }
    }

    private static byte[] CifarArchive(byte[] record)
    {
        var ms = new MemoryStream();
        using (var gz = new GZipStream(ms, CompressionLevel.SmallestSize, leaveOpen: true))
        using (var tar = new TarWriter(gz, TarEntryFormat.Ustar, leaveOpen: true))
        {
            var batch = new byte[Cifar10BinaryFile.RecordLength];
            batch[0] = 4;
            record.CopyTo(batch, 1);
            tar.WriteEntry(new UstarTarEntry(TarEntryType.RegularFile, "cifar-10-batches-bin/data_batch_1.bin") { DataStream = new MemoryStream(batch) });
            tar.WriteEntry(new UstarTarEntry(TarEntryType.RegularFile, "cifar-10-batches-bin/batches.meta.txt")
            {
                DataStream = new MemoryStream(Encoding.ASCII.GetBytes(string.Join("\n", Cifar10.ClassNames) + "\n")),
            });
        }
        return ms.ToArray();
    }

    /// <summary>One class file of the npm package: <paramref name="perClass"/> images, with an empty separator entry.</summary>
    public static byte[] NpmClassJson(int label, int perClass)
    {
        var images = Enumerable.Range(0, perClass)
            .Select(i => "[" + string.Join(",", Enumerable.Range(0, 784).Select(p => (p * (label + 1) + i) % 256)) + "]");
        return Encoding.ASCII.GetBytes("{\"data\":[" + string.Join(",[],", images) + "]}");
    }

    private static byte[] Encode(byte[] grey, int width, int height, SKEncodedImageFormat format)
    {
        using var bitmap = new SKBitmap(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Opaque));
        for (int y = 0; y < height; y++)
        for (int x = 0; x < width; x++)
        {
            byte v = grey[y * width + x];
            bitmap.SetPixel(x, y, new SKColor(v, (byte)(255 - v), (byte)(v / 2)));
        }
        using var image = SKImage.FromBitmap(bitmap);
        using var data = image.Encode(format, 90);
        return data.ToArray();
    }
}
