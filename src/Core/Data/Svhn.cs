namespace DqMlNet.Data;

/// <summary>
/// SVHN (Street View House Numbers), cropped-digits format: 32×32 colour images of the digits 0–9, 73,257 train
/// (<c>train_32x32.mat</c>) / 26,032 test (<c>test_32x32.mat</c>). Each file is a MAT v5 file (read with
/// <see cref="MatV5Reader"/>) with <c>X</c>: uint8 32×32×3×N (row, column, channel, image; column-major) and
/// <c>y</c>: N×1 labels 1–10, where 10 stands for the digit 0. Loaded labels are the digits themselves (10 → 0).
/// </summary>
public static class Svhn
{
    /// <summary>The class names "0" … "9"; label = digit.</summary>
    public static readonly IReadOnlyList<string> ClassNames = Enumerable.Range(0, 10).Select(d => d.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToArray();

    /// <summary>Base address of the official files.</summary>
    public const string OfficialBaseUrl = "http://ufldl.stanford.edu/housenumbers/";

    /// <summary>Image side in pixels.</summary>
    public const int Size = 32;

    /// <summary>Colour channels (R, G, B).</summary>
    public const int Channels = 3;

    /// <summary>The file name of one split.</summary>
    public static string FileName(DatasetSplit split) => split == DatasetSplit.Train ? "train_32x32.mat" : "test_32x32.mat";

    /// <summary>The cache folder used under a cache root: <c>&lt;root&gt;/svhn</c>.</summary>
    public static string DefaultDirectory(string? cacheRoot = null) => Path.Combine(cacheRoot ?? DataCache.DefaultDirectory, "svhn");

    /// <summary>
    /// Makes <c>train_32x32.mat</c> and <c>test_32x32.mat</c> available in <paramref name="directory"/> (default
    /// <see cref="DefaultDirectory"/>) and returns the folder: uses files already there whose MAT header is valid; else
    /// (when <paramref name="allowDownload"/>) downloads the official files, atomically. Throws
    /// <see cref="InvalidOperationException"/> listing what was tried and which files to put where.
    /// </summary>
    public static string EnsureAvailable(string? directory = null, bool allowDownload = true, TextWriter? log = null,
        CancellationToken cancellationToken = default)
        => EnsureAvailable(directory, new[] { DatasetSplit.Train, DatasetSplit.Test }, allowDownload, log, cancellationToken);

    /// <summary>As <see cref="EnsureAvailable(string?, bool, TextWriter?, CancellationToken)"/> for the files of some splits only.</summary>
    public static string EnsureAvailable(string? directory, IReadOnlyCollection<DatasetSplit> splits, bool allowDownload = true,
        TextWriter? log = null, CancellationToken cancellationToken = default)
    {
        directory ??= DefaultDirectory();
        var attempts = new List<string>();
        var needed = new List<DatasetSplit>();
        foreach (var split in splits.Distinct())
        {
            if (IsValid(Path.Combine(directory, FileName(split)), out var problem)) continue;
            needed.Add(split);
            attempts.Add($"cache '{directory}': {problem}");
        }
        if (needed.Count == 0) return directory;

        if (allowDownload)
        {
            foreach (var split in needed.ToList())
            {
                var path = Path.Combine(directory, FileName(split));
                var url = OfficialBaseUrl + FileName(split);
                try
                {
                    log?.WriteLine($"SVHN: downloading {url} into {directory} ...");
                    DatasetDownload.Stream(url, body => AtomicFile.Write(path, body.CopyTo), cancellationToken);
                    if (IsValid(path, out var problem)) needed.Remove(split);
                    else
                    {
                        File.Delete(path);
                        attempts.Add($"download from {url}: the file received is not valid ({problem})");
                    }
                }
                catch (Exception ex) when (DatasetDownload.IsDownloadFailure(ex, cancellationToken))
                {
                    attempts.Add($"download from {url}: {ex.Message}");
                }
            }
            if (needed.Count == 0) return directory;
        }
        else
        {
            attempts.Add("download: not allowed by the caller");
        }

        throw new InvalidOperationException(
            "SVHN is not available. Tried:\n  - " + string.Join("\n  - ", attempts) + "\n" +
            $"Fix: download {string.Join(" and ", needed.Select(s => OfficialBaseUrl + FileName(s)))} (the cropped-digits " +
            $"format) and put {(needed.Count == 1 ? "it" : "them")} into '{directory}'.");
    }

    /// <summary>Loads one split (ensuring its file is available first), optionally only its first <paramref name="limit"/> images.</summary>
    public static ImageDataset Load(DatasetSplit split, string? directory = null, int? limit = null, bool allowDownload = true,
        TextWriter? log = null)
    {
        if (limit is < 1) throw new ArgumentOutOfRangeException(nameof(limit), limit, "The image limit must be at least 1.");
        directory = EnsureAvailable(directory, new[] { split }, allowDownload, log);
        return LoadFile(Path.Combine(directory, FileName(split)), limit);
    }

    /// <summary>
    /// Loads one cropped-digits .mat file: converts <c>X</c> to channel-major images and maps label 10 to 0. Throws
    /// <see cref="InvalidDataException"/> naming the file, the variable and the fix when the content is not SVHN.
    /// </summary>
    public static ImageDataset LoadFile(string path, int? limit = null)
    {
        if (limit is < 1) throw new ArgumentOutOfRangeException(nameof(limit), limit, "The image limit must be at least 1.");
        var mat = MatV5Reader.Read(path, "X", "y");
        var x = mat.Get("X");
        var y = mat.Get("y");
        string NotSvhn(string problem) =>
            $"'{path}' is not an SVHN cropped-digits file: {problem}. Expected X as uint8 32×32×3×N and y as N×1 labels 1–10 " +
            $"({OfficialBaseUrl}{Path.GetFileName(path)}); replace the file with the official one.";

        if (x.Class != MatClass.UInt8)
            throw new InvalidDataException(NotSvhn($"variable 'X' is of MATLAB class {x.Class}, not uint8"));
        var d = x.Dimensions;
        // MATLAB drops trailing singleton dimensions, so a single image is stored as 32×32×3.
        int count = d.Count == 4 ? d[3] : d.Count == 3 ? 1 : -1;
        if (count < 1 || d[0] != Size || d[1] != Size || d[2] != Channels)
            throw new InvalidDataException(NotSvhn($"variable 'X' has size {string.Join("×", d)}"));
        if (y.Length != count || y.Dimensions.Count != 2 || Math.Min(y.Dimensions[0], y.Dimensions[1]) != 1)
            throw new InvalidDataException(NotSvhn($"variable 'y' has size {string.Join("×", y.Dimensions)} for {count} images in X"));

        int n = Math.Min(count, limit ?? int.MaxValue);
        var labels = new byte[n];
        for (int i = 0; i < n; i++)
        {
            double v = y.GetDouble(i);
            if (!(v >= 1 && v <= 10 && v == Math.Floor(v)))
                throw new InvalidDataException(NotSvhn($"label y({i + 1}) is {v}, not an integer in 1–10"));
            labels[i] = (byte)(v == 10 ? 0 : v);
        }

        // X(r, c, ch, k) sits at r + 32·(c + 32·(ch + 3·k)): each 32×32 plane is stored column by column, so
        // transposing each plane gives the row-major channel-major (C, H, W) layout.
        var source = x.RawUInt8 ?? x.ToByteArray();
        const int plane = Size * Size;
        var pixels = new byte[(long)n * Channels * plane];
        for (long p = 0; p < (long)n * Channels; p++)
        {
            var src = source.AsSpan((int)(p * plane), plane);
            var dst = pixels.AsSpan((int)(p * plane), plane);
            for (int c = 0; c < Size; c++)
                for (int r = 0; r < Size; r++)
                    dst[r * Size + c] = src[c * Size + r];
        }
        return ImageDataset.FromBytes(pixels, labels, Channels, Size, Size, ClassNames);
    }

    private static bool IsValid(string path, out string problem)
    {
        if (!File.Exists(path))
        {
            problem = "missing " + Path.GetFileName(path);
            return false;
        }
        try
        {
            MatV5Reader.ReadHeader(path);
            problem = "";
            return true;
        }
        catch (InvalidDataException ex)
        {
            problem = ex.Message;
            return false;
        }
    }
}
