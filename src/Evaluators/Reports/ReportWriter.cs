using System.Globalization;
using System.Text;
using System.Text.Json;
using DqMlNet.Data;

namespace DqMlNet.Evaluators;

/// <summary>Writes and reads <see cref="RobustnessReport"/> as JSON (camelCase, stable schema) and Markdown; all writes atomic.</summary>
public static class ReportWriter
{
    private static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        // Reports serialised with .NET's default (PascalCase) names, such as the paper reproduction's stored results, read too.
        PropertyNameCaseInsensitive = true,
        WriteIndented = true,
    };

    /// <summary>The report as JSON.</summary>
    public static string ToJson(RobustnessReport report) => JsonSerializer.Serialize(report, Json);

    /// <summary>
    /// Parses a report written by <see cref="ToJson"/>. JSON that is not a robustness report (no <c>model</c> and
    /// <c>n</c> fields) is an <see cref="InvalidDataException"/>: unknown fields are ignored, so any JSON object would
    /// otherwise read as an empty report.
    /// </summary>
    public static RobustnessReport FromJson(string json)
    {
        // Parsed once: the fields are checked on the document, which is then bound to the report.
        using var document = JsonDocument.Parse(json);
        var root = document.RootElement;
        if (root.ValueKind == JsonValueKind.Null) throw new InvalidDataException("The robustness report JSON is empty.");
        bool Has(string name) => root.EnumerateObject().Any(p => string.Equals(p.Name, name, StringComparison.OrdinalIgnoreCase));
        if (root.ValueKind != JsonValueKind.Object || !Has("model") || !Has("n"))
            throw new InvalidDataException("The JSON is not a robustness report: it has no 'model' and 'n' fields. Give a report written by " +
                                           "dq evaluate, EvaluateRobustness with RobustnessReportWriter, or ReportWriter.WriteJson.");
        return root.Deserialize<RobustnessReport>(Json) ?? throw new InvalidDataException("The robustness report JSON is empty.");
    }

    /// <summary>Writes the JSON document to <paramref name="path"/> atomically.</summary>
    public static void WriteJson(RobustnessReport report, string path) => AtomicFile.WriteAllBytes(path, Encoding.UTF8.GetBytes(ToJson(report)));

    /// <summary>
    /// Reads a JSON report file. A file larger than <see cref="ReportLimits.MaxReportBytes"/>, or one that is not a
    /// report, is an <see cref="InvalidDataException"/> naming the file.
    /// </summary>
    public static RobustnessReport ReadJson(string path) => ReadJson(path, ReportLimits.MaxReportBytes);

    /// <summary>Reads a JSON report file of at most <paramref name="maxBytes"/> bytes (see <see cref="ReadJson(string)"/>).</summary>
    public static RobustnessReport ReadJson(string path, long maxBytes)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxBytes);
        // The size is checked on the open handle (not a separate stat), and the read stops at the bound whatever the
        // file grows to meanwhile, so no report can make this allocate more than the limit.
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.SequentialScan);
        long limit = Math.Min(maxBytes, Array.MaxLength);
        long length = stream.Length; // read once: the allocation below uses the length that was checked
        if (length > limit)
            throw new InvalidDataException($"The report '{path}' holds {length:N0} bytes, more than the {limit:N0} a report may hold. " +
                                           "If it is genuine, raise ReportLimits.MaxReportBytes (or the environment variable DQMLNET_MAX_REPORT_BYTES).");
        // Read up to the declared length; a file that grew after the check is cut there and fails as JSON, not as memory.
        var bytes = new byte[(int)length];
        int read = stream.ReadAtLeast(bytes, bytes.Length, throwOnEndOfStream: false);
        try
        {
            return FromJson(Encoding.UTF8.GetString(bytes, 0, read));
        }
        catch (JsonException ex)
        {
            throw new InvalidDataException($"The report '{path}' is not valid JSON ({ex.Message}). Give a report written by dq evaluate or ReportWriter.WriteJson.", ex);
        }
        catch (InvalidDataException ex)
        {
            throw new InvalidDataException($"The report '{path}': {ex.Message}", ex);
        }
    }

    /// <summary>A Markdown summary: clean accuracy, a table of robust accuracy per attack and ε, worst case, layers, warnings.</summary>
    public static string ToMarkdown(RobustnessReport report)
    {
        var c = CultureInfo.InvariantCulture;
        var epsilons = report.Attacks.Select(a => a.Epsilon).Distinct().OrderBy(e => e).ToList();
        var sb = new StringBuilder();
        sb.AppendLine(c, $"### {report.Model}").AppendLine();
        if (report.Artifact.Length > 0) sb.AppendLine(c, $"Artifact: **{report.Artifact}**.").AppendLine();
        sb.AppendLine(c, $"{report.N} images, clean accuracy **{report.CleanAccuracy:P2}**, seed {report.Seed}; {report.ThreatModel}.").AppendLine();
        sb.Append("| attack |").AppendJoin("", epsilons.Select(e => string.Create(c, $" ε = {e:0.####} |"))).AppendLine();
        sb.Append("|---|").AppendJoin("", epsilons.Select(_ => "---|")).AppendLine();
        foreach (var name in report.Attacks.Select(a => a.Name).Distinct())
        {
            bool cumulative = report.Attacks.Any(a => a.Name == name && a.Cumulative);
            sb.Append(c, $"| {name}{(cumulative ? " (cumulative)" : "")} |");
            foreach (var e in epsilons) sb.Append(c, $" {Format(report.RobustAccuracy(name, e))} |");
            sb.AppendLine();
        }
        // The minimum row is a worst case only at the ε where the suite has a score-based attack; name it per ε when mixed.
        var bounds = epsilons.Select(e => report.WorstCaseBound(e) ?? RobustBound.UpperBound).Distinct().ToList();
        string minimum = bounds.Count == 1 ? WorstCaseResult.LabelOf(bounds[0]) : "minimum over attacks";
        sb.Append(c, $"| **{minimum}** |");
        foreach (var e in epsilons)
        {
            string mark = bounds.Count > 1 && report.WorstCaseBound(e) is RobustBound b ? $" ({WorstCaseResult.LabelOf(b)})" : "";
            sb.Append(c, $" **{Format(report.WorstCaseAccuracy(e))}**{mark} |");
        }
        sb.AppendLine().AppendLine();
        if (bounds.Contains(RobustBound.UpperBound))
            sb.AppendLine("Upper bound: the suite has no score-based attack (Square), so masked gradients could hide adversarial examples; " +
                          "the model may be less robust than this.").AppendLine();
        if (report.Attacks.Any(a => a.Cumulative))
            sb.AppendLine("Cascade (AutoAttack's order): each attack ran only on the images every earlier attack at that ε failed on; " +
                          "a cumulative row counts images robust to it and to every attack above it.").AppendLine();
        sb.AppendLine("Settings: " + string.Join("; ", report.Attacks.GroupBy(a => a.Name).Select(g => g.First().Settings))).AppendLine();
        if (report.Layers.Count > 0)
        {
            sb.AppendLine(string.Create(c, $"Error amplification d_l (FGSM, ε = {report.AmplificationEpsilon:0.####}): ") +
                          string.Join(" · ", report.Layers.Select(l => string.Create(c, $"{l.Layer} {l.Amplification:0.###}")))).AppendLine();
        }
        if (report.SpectralNorms.Count > 0)
        {
            sb.AppendLine("Operator norms (power iteration through conv2d/conv_transpose2d on each layer's input): " +
                          string.Join(" · ", report.SpectralNorms.Select(s => string.Create(c, $"{s.Layer} {s.SpectralNorm:0.##}"))) +
                          string.Create(c, $" (product {report.SpectralNormProduct:0.##}, an upper bound of the conv/linear part's Lipschitz constant)")).AppendLine();
            if (report.SpectralNorms.Any(s => s.ReshapedKernelNorm is not null))
                sb.AppendLine("Reshaped-kernel norms (what the regulariser constrains; not a bound for convolutions): " +
                              string.Join(" · ", report.SpectralNorms.Select(s => string.Create(c, $"{s.Layer} {s.ReshapedKernelNorm:0.##}")))).AppendLine();
        }
        sb.AppendLine(report.Warnings.Count == 0 ? "Gradient-masking checks: none fired." : "Warnings:");
        foreach (var w in report.Warnings) sb.AppendLine("- " + w);
        return sb.ToString();

        string Format(double? value) => value is double v ? v.ToString("P1", c) : "–";
    }

    /// <summary>Writes the Markdown summary atomically.</summary>
    public static void WriteMarkdown(RobustnessReport report, string path) => AtomicFile.WriteAllBytes(path, Encoding.UTF8.GetBytes(ToMarkdown(report)));
}
