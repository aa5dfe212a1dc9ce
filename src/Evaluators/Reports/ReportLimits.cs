using System.Globalization;

namespace DqMlNet.Evaluators;

/// <summary>
/// The largest robustness report JSON that <see cref="ReportWriter.ReadJson(string)"/> reads. Reports come back from shard jobs,
/// shared folders and side files next to served models, so a file of any size may arrive; it is checked against this
/// bound before a byte is read into memory. The default fits a report on 100,000 images with per-image verdicts many times.
/// </summary>
public static class ReportLimits
{
    /// <summary>Default of <see cref="MaxReportBytes"/>: 256 MiB.</summary>
    public const long DefaultMaxReportBytes = 256L << 20;

    private static long? maxReportBytes;

    /// <summary>The most bytes a report file may hold. Environment variable: <c>DQMLNET_MAX_REPORT_BYTES</c> (a decimal byte count).</summary>
    public static long MaxReportBytes
    {
        get => maxReportBytes ?? FromEnvironment("DQMLNET_MAX_REPORT_BYTES", DefaultMaxReportBytes);
        set => maxReportBytes = value > 0 ? value : throw new ArgumentOutOfRangeException(nameof(value), value, "The limit must be positive.");
    }

    /// <summary>Restores the default (or the environment's value); for tests.</summary>
    internal static void Reset() => maxReportBytes = null;

    private static long FromEnvironment(string name, long fallback)
    {
        var text = Environment.GetEnvironmentVariable(name);
        return long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out long value) && value > 0 ? value : fallback;
    }
}
