using DqMlNet.Data;
using System.Text;

namespace DqMlNet.Evaluators;

/// <summary>
/// Writes a robustness evaluation to files: <c>{name}.robustness.json</c> (the report, <see cref="ReportWriter.ToJson"/>)
/// and <c>{name}.robustness.md</c> (<see cref="ReportWriter.ToMarkdown"/>). Each file is written atomically, and an
/// existing file is replaced only when the caller says so. The PNG plot lives in <c>DqMlNet.Evaluators.Plots</c>
/// (<c>ReportPlots.RobustAccuracyByAttack</c>): ScottPlot needs SkiaSharp 3 while ML.NET's image transforms need SkiaSharp
/// 2.88, and the two cannot load in one process, so plotting is a separate package an application opts into.
/// </summary>
public static class RobustnessReportWriter
{
    /// <summary>Writes the report of <paramref name="metrics"/> (see <see cref="Write(RobustnessReport, string, string, bool)"/>).</summary>
    public static RobustnessReportFiles Write(RobustnessMetrics metrics, string directory, string name, bool overwrite = false)
    {
        ArgumentNullException.ThrowIfNull(metrics);
        return Write(metrics.Report, directory, name, overwrite);
    }

    /// <summary>Writes <c>{name}.robustness.json</c> and <c>{name}.robustness.md</c> into <paramref name="directory"/> (created if missing).</summary>
    /// <param name="report">The report.</param>
    /// <param name="directory">The output folder.</param>
    /// <param name="name">The files' base name, e.g. the model's name.</param>
    /// <param name="overwrite">Replace existing files; otherwise an existing file is an <see cref="IOException"/> and nothing is written.</param>
    public static RobustnessReportFiles Write(RobustnessReport report, string directory, string name, bool overwrite = false)
    {
        ArgumentNullException.ThrowIfNull(report);
        ArgumentException.ThrowIfNullOrWhiteSpace(directory);
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        if (name.IndexOfAny(Path.GetInvalidFileNameChars()) >= 0 || name is "." or "..")
            throw new ArgumentException($"'{name}' is not a file name; pass the folder as directory and a plain base name.", nameof(name));
        var files = new RobustnessReportFiles(Path.Combine(directory, name + ".robustness.json"), Path.Combine(directory, name + ".robustness.md"));
        if (!overwrite)
            foreach (var path in new[] { files.Json, files.Markdown })
                if (File.Exists(path))
                    throw new IOException($"'{path}' exists; the robustness report does not replace it unasked. Choose another name or pass overwrite: true.");
        Directory.CreateDirectory(directory);
        AtomicFile.WriteAllBytes(files.Json, Encoding.UTF8.GetBytes(ReportWriter.ToJson(report)), overwrite);
        AtomicFile.WriteAllBytes(files.Markdown, Encoding.UTF8.GetBytes(ReportWriter.ToMarkdown(report)), overwrite);
        return files;
    }
}
