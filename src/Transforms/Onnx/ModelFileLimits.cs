using System.Globalization;

namespace DqMlNet.Transforms.Onnx;

/// <summary>
/// Upper bounds that the model-file loaders (ONNX files, the DQ stages of ML.NET model zips) check before they read or
/// allocate, so a small hostile file cannot exhaust memory. The default fits every model a <c>ModelSpec</c> may describe.
/// </summary>
public static class ModelFileLimits
{
    /// <summary>Default of <see cref="MaxModelBytes"/>: 1 GiB.</summary>
    public const long DefaultMaxModelBytes = 1L << 30;

    private static long? maxModelBytes;

    /// <summary>
    /// The most bytes one ONNX file, or one entry of a model zip, may hold (uncompressed). Environment variable:
    /// <c>DQMLNET_MAX_MODEL_BYTES</c> (a byte count).
    /// </summary>
    public static long MaxModelBytes
    {
        get => maxModelBytes ?? (long.TryParse(Environment.GetEnvironmentVariable("DQMLNET_MAX_MODEL_BYTES"), NumberStyles.None,
            CultureInfo.InvariantCulture, out long v) && v > 0 ? v : DefaultMaxModelBytes);
        set => maxModelBytes = value > 0 ? value : throw new ArgumentOutOfRangeException(nameof(value), value, "The limit must be positive.");
    }

    /// <summary>Restores the default (or the environment's value); for tests.</summary>
    internal static void Reset() => maxModelBytes = null;

    /// <summary>How to raise the limit, for error messages.</summary>
    internal static string RaiseHint =>
        $"If the file is genuine, raise ModelFileLimits.MaxModelBytes (now {MaxModelBytes:N0} bytes; environment variable DQMLNET_MAX_MODEL_BYTES).";
}
