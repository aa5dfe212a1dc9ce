using System.Formats.Tar;
using System.IO.Compression;

namespace DqMlNet.Data;

/// <summary>
/// CIFAR-10 (Krizhevsky): 32×32 colour images of 10 classes, 50,000 train (<c>data_batch_1.bin</c> …
/// <c>data_batch_5.bin</c>) / 10,000 test (<c>test_batch.bin</c>), in the binary version of the dataset
/// (see <see cref="Cifar10BinaryFile"/>).
/// </summary>
public static class Cifar10
{
    /// <summary>The standard class names, index = label (used when <c>batches.meta.txt</c> is absent).</summary>
    public static readonly IReadOnlyList<string> ClassNames = new[]
    {
        "airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck",
    };

    /// <summary>The official download (binary version, ≈ 162 MB).</summary>
    public const string OfficialUrl = "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz";

    /// <summary>File name of the official archive; it is also used when put into the cache folder by hand.</summary>
    public const string ArchiveFileName = "cifar-10-binary.tar.gz";

    /// <summary>The folder inside the archive that holds the batch files.</summary>
    public const string BatchFolderName = "cifar-10-batches-bin";

    /// <summary>The optional class-name file (one name per line).</summary>
    public const string MetaFileName = "batches.meta.txt";

    /// <summary>The training batch files, in order.</summary>
    public static readonly IReadOnlyList<string> TrainFiles = new[]
    {
        "data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin", "data_batch_5.bin",
    };

    /// <summary>The test batch file.</summary>
    public const string TestFile = "test_batch.bin";

    /// <summary>The cache folder used under a cache root: <c>&lt;root&gt;/cifar-10</c>.</summary>
    public static string DefaultDirectory(string? cacheRoot = null) => Path.Combine(cacheRoot ?? DataCache.DefaultDirectory, "cifar-10");

    /// <summary>The batch files of one split.</summary>
    public static IReadOnlyList<string> FilesOf(DatasetSplit split) => split == DatasetSplit.Train ? TrainFiles : new[] { TestFile };

    /// <summary>
    /// Makes the six batch files available and returns the folder that holds them. Looks in
    /// <paramref name="directory"/> (default <see cref="DefaultDirectory"/>) and its <c>cifar-10-batches-bin</c>
    /// subfolder; else extracts <c>cifar-10-binary.tar.gz</c> if it lies in <paramref name="directory"/>; else (when
    /// <paramref name="allowDownload"/>) downloads and extracts <see cref="OfficialUrl"/>. Files are written atomically.
    /// Throws <see cref="InvalidOperationException"/> listing what was tried and which files to put where.
    /// </summary>
    public static string EnsureAvailable(string? directory = null, bool allowDownload = true, TextWriter? log = null,
        CancellationToken cancellationToken = default)
    {
        directory ??= DefaultDirectory();
        var attempts = new List<string>();
        if (Find(directory, attempts) is { } found) return found;

        var extracted = Path.Combine(directory, BatchFolderName);
        var archive = Path.Combine(directory, ArchiveFileName);
        if (File.Exists(archive))
        {
            try
            {
                log?.WriteLine($"CIFAR-10: extracting {archive} ...");
                using (var stream = File.OpenRead(archive)) Extract(stream, extracted, archive);
                if (FindAfter("archive '" + archive + "'", directory, attempts) is { } f) return f;
            }
            catch (Exception ex) when (ex is IOException or InvalidDataException or UnauthorizedAccessException)
            {
                attempts.Add($"archive '{archive}': {ex.Message}");
            }
        }

        if (allowDownload)
        {
            try
            {
                log?.WriteLine($"CIFAR-10: downloading {OfficialUrl} into {extracted} ...");
                DatasetDownload.Stream(OfficialUrl, body => Extract(body, extracted, OfficialUrl), cancellationToken);
                if (FindAfter("download from " + OfficialUrl, directory, attempts) is { } f) return f;
            }
            catch (Exception ex) when (DatasetDownload.IsDownloadFailure(ex, cancellationToken))
            {
                attempts.Add($"download from {OfficialUrl}: {ex.Message}");
            }
        }
        else
        {
            attempts.Add("download: not allowed by the caller");
        }

        throw new InvalidOperationException(
            "CIFAR-10 is not available. Tried:\n  - " + string.Join("\n  - ", attempts) + "\n" +
            $"Fix: download {OfficialUrl} (the binary version) and put it into '{directory}' (it is extracted on first use), " +
            $"or extract it yourself so that '{extracted}' holds {string.Join(", ", TrainFiles)} and {TestFile} " +
            $"({MetaFileName} optional).");
    }

    /// <summary>
    /// Loads one split (ensuring availability first), optionally only its first <paramref name="limit"/> images.
    /// Class names come from <c>batches.meta.txt</c> when present, else <see cref="ClassNames"/>.
    /// </summary>
    public static ImageDataset Load(DatasetSplit split, string? directory = null, int? limit = null, bool allowDownload = true,
        TextWriter? log = null)
    {
        if (limit is < 1) throw new ArgumentOutOfRangeException(nameof(limit), limit, "The image limit must be at least 1.");
        var folder = EnsureAvailable(directory, allowDownload, log);
        return LoadFrom(folder, split, limit);
    }

    /// <summary>Loads one split from a folder that holds the batch files, without looking anywhere else.</summary>
    public static ImageDataset LoadFrom(string batchDirectory, DatasetSplit split, int? limit = null)
    {
        if (limit is < 1) throw new ArgumentOutOfRangeException(nameof(limit), limit, "The image limit must be at least 1.");
        var classNames = ReadClassNames(batchDirectory);
        var pixels = new List<byte[]>();
        var labels = new List<byte[]>();
        int remaining = limit ?? int.MaxValue;
        foreach (var name in FilesOf(split))
        {
            if (remaining == 0) break;
            var (p, l) = Cifar10BinaryFile.Read(Path.Combine(batchDirectory, name), remaining);
            pixels.Add(p);
            labels.Add(l);
            remaining -= l.Length;
        }
        return ImageDataset.FromBytes(pixels.SelectMany(p => p).ToArray(), labels.SelectMany(l => l).ToArray(),
            Cifar10BinaryFile.Channels, Cifar10BinaryFile.Size, Cifar10BinaryFile.Size, classNames);
    }

    /// <summary>
    /// The class names in <c>batches.meta.txt</c> of <paramref name="batchDirectory"/> (10 non-empty lines), or
    /// <see cref="ClassNames"/> when the file is absent.
    /// </summary>
    public static IReadOnlyList<string> ReadClassNames(string batchDirectory)
    {
        var path = Path.Combine(batchDirectory, MetaFileName);
        if (!File.Exists(path)) return ClassNames;
        var names = File.ReadAllLines(path).Select(l => l.Trim()).Where(l => l.Length > 0).ToArray();
        if (names.Length != Cifar10BinaryFile.Classes)
            throw new InvalidDataException(
                $"'{path}' lists {names.Length} class names, but CIFAR-10 has {Cifar10BinaryFile.Classes} (one per line, label order). " +
                "Fix the file or delete it to use the standard names.");
        return names;
    }

    /// <summary>The folder (directory or its batch subfolder) holding all six valid batch files, or null with the problems recorded.</summary>
    private static string? Find(string directory, List<string> attempts)
    {
        foreach (var folder in new[] { Path.Combine(directory, BatchFolderName), directory })
        {
            var problems = new List<string>();
            foreach (var name in TrainFiles.Append(TestFile))
            {
                var path = Path.Combine(folder, name);
                if (!File.Exists(path)) { problems.Add("missing " + name); continue; }
                try { Cifar10BinaryFile.CountRecords(path); }
                catch (InvalidDataException ex) { problems.Add(ex.Message); }
            }
            if (problems.Count == 0) return folder;
            if (Directory.Exists(folder)) attempts.Add($"cache '{folder}': {string.Join("; ", problems)}");
        }
        if (!Directory.Exists(directory)) attempts.Add($"cache '{directory}': the folder does not exist");
        return null;
    }

    private static string? FindAfter(string source, string directory, List<string> attempts)
    {
        var problems = new List<string>();
        if (Find(directory, problems) is { } folder) return folder;
        attempts.Add($"{source}: files still incomplete afterwards ({string.Join(" | ", problems)})");
        return null;
    }

    /// <summary>
    /// Extracts the batch files and the meta file of a <c>.tar.gz</c> stream into <paramref name="target"/>, each
    /// atomically. Bounded: each entry's declared size is checked before it is extracted (a batch file must be a whole
    /// number of records, at most <see cref="DataLimits.MaxArchiveEntryBytes"/>; the meta file at most 64 KiB), each copy
    /// stops at its declared size, and the whole archive may inflate to at most four entry limits.
    /// </summary>
    internal static void Extract(Stream tarGz, string target, string? archiveName = null)
    {
        archiveName ??= ArchiveFileName;
        try
        {
            ExtractEntries(tarGz, target, archiveName);
        }
        catch (EndOfStreamException e)
        {
            // A cut-off download: the tar reader meets the end inside a header or inside an entry it skips.
            throw new InvalidDataException(
                $"'{archiveName}' ends early ({e.Message}): the archive is truncated. Delete it and download it again.", e);
        }
    }

    private static void ExtractEntries(Stream tarGz, string target, string archiveName)
    {
        var wanted = new HashSet<string>(TrainFiles.Append(TestFile).Append(MetaFileName), StringComparer.Ordinal);
        long entryCap = DataLimits.MaxArchiveEntryBytes;
        long totalCap = entryCap > long.MaxValue / 4 ? long.MaxValue : entryCap * 4;
        using var gz = new GZipStream(tarGz, CompressionMode.Decompress, leaveOpen: true);
        using var limited = new LimitedReadStream(gz, totalCap, limit => new InvalidDataException(
            $"'{archiveName}' inflates to more than {limit:N0} bytes, far more than CIFAR-10's ≈ 185 MB; it is not the " +
            "official archive (or is a decompression bomb): delete it and download it again. " + DataLimits.RaiseArchiveHint));
        using var tar = new TarReader(limited);
        int written = 0;
        while (tar.GetNextEntry() is { } entry)
        {
            if (entry.EntryType is not (TarEntryType.RegularFile or TarEntryType.V7RegularFile) || entry.DataStream is null) continue;
            // Only known file names are taken, and only their file name part: no path from the archive reaches the disk.
            var name = Path.GetFileName(entry.Name.Replace('\\', '/'));
            if (!wanted.Contains(name)) continue;
            long declared = entry.Length;
            string Bad(string problem) =>
                $"'{archiveName}': entry '{entry.Name}' {problem}. The archive is corrupt or not the official binary version: " +
                "delete it and download it again.";
            if (name == MetaFileName)
            {
                if (declared > 64 * 1024) throw new InvalidDataException(Bad($"declares {declared:N0} bytes; a class-name list has at most 64 KiB"));
            }
            else if (declared <= 0 || declared % Cifar10BinaryFile.RecordLength != 0)
            {
                throw new InvalidDataException(Bad($"declares {declared:N0} bytes, not a positive multiple of the {Cifar10BinaryFile.RecordLength}-byte record"));
            }
            if (declared > entryCap)
                throw new InvalidDataException(Bad($"declares {declared:N0} bytes, more than the limit of {entryCap:N0}") + " " + DataLimits.RaiseArchiveHint);
            AtomicFile.Write(Path.Combine(target, name), s =>
            {
                long copied = BoundedRead.CopyAtMost(entry.DataStream, s, declared,
                    () => new InvalidDataException(Bad($"holds more than its declared {declared:N0} bytes")));
                if (copied != declared) throw new InvalidDataException(Bad($"holds {copied:N0} of its declared {declared:N0} bytes (truncated)"));
            });
            written++;
        }
        if (written == 0)
            throw new InvalidDataException($"the archive holds none of the CIFAR-10 batch files ({string.Join(", ", TrainFiles)}, {TestFile}); is it the binary version?");
    }
}
