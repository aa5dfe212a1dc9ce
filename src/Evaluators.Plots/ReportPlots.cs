using DqMlNet.Data;
using ScottPlot;

namespace DqMlNet.Evaluators;

/// <summary>PNG plots of robustness reports (ScottPlot 5), written atomically.</summary>
public static class ReportPlots
{
    /// <summary>Robust accuracy vs ε, one line per attack of one report (the clean accuracy is the ε = 0 point).</summary>
    public static void RobustAccuracyByAttack(RobustnessReport report, string path, int width = 900, int height = 560)
    {
        var series = report.Attacks.GroupBy(a => a.Name).Select(g => (g.Key, Points(report.CleanAccuracy, g.Select(a => (a.Epsilon, a.RobustAccuracy))))).ToList();
        series.Add((MinimumLabel(report), Points(report.CleanAccuracy, report.WorstCase.Select(w => (w.Epsilon, w.RobustAccuracy)))));
        Save(path, width, height, $"Robust accuracy — {report.Model}{ArtifactSuffix(report)}", "ε (pixels in [0, 1])", "accuracy (%)", series);
    }

    /// <summary>
    /// Worst-case robust accuracy vs ε, one line per model (e.g. FP, VQ-4, DQ-4); a model whose suite had no score-based
    /// attack is labelled "upper bound (gradient attacks only)" in the legend.
    /// </summary>
    public static void RobustAccuracyByModel(IReadOnlyList<(string Name, RobustnessReport Report)> models, string path, string? attack = null,
        int width = 900, int height = 560)
    {
        var series = models.Select(m => (attack is null && m.Report.WorstCase.Any(w => w.Bound == RobustBound.UpperBound)
                ? $"{m.Name} — upper bound (gradient attacks only)" : m.Name, attack is null
            ? Points(m.Report.CleanAccuracy, m.Report.WorstCase.Select(w => (w.Epsilon, w.RobustAccuracy)))
            : Points(m.Report.CleanAccuracy, m.Report.Attacks.Where(a => a.Name == attack).Select(a => (a.Epsilon, a.RobustAccuracy))))).ToList();
        var artifacts = models.Select(m => m.Report.Artifact).Where(a => a.Length > 0).Distinct().ToList();
        string suffix = artifacts.Count == 1 ? $" — {artifacts[0]}" : "";
        // One attack alone only bounds robust accuracy from above, and the title says so.
        string title = attack is null ? "Worst-case robust accuracy"
            : $"Robust accuracy under {attack} — upper bound ({(attack.StartsWith("Square", StringComparison.Ordinal) ? "one attack" : "gradient attacks only")})";
        Save(path, width, height, title + suffix, "ε (pixels in [0, 1])", "accuracy (%)", series);
    }

    /// <summary>Error amplification d_l vs layer, one line per model.</summary>
    public static void ErrorAmplification(IReadOnlyList<(string Name, RobustnessReport Report)> models, string path, int width = 900, int height = 560)
    {
        var series = models.Select(m => (m.Name, m.Report.Layers.Select(l => ((double)l.Index, l.Amplification)).ToList())).ToList();
        var eps = models.Select(m => m.Report.AmplificationEpsilon).FirstOrDefault(e => e is not null);
        Save(path, width, height, $"Error amplification (FGSM, ε = {eps:0.###})", "activation layer", "‖a(x) − a(x')‖ / ‖a(x)‖", series, percent: false);
    }

    /// <summary>
    /// A general line plot: one line per named series of (x, y) points, e.g. robust accuracy vs activation bits per
    /// training mode. <paramref name="percent"/> shows fractions as percentages on a 0–100 axis.
    /// </summary>
    public static void Lines(IReadOnlyList<(string Name, IReadOnlyList<(double X, double Y)> Points)> series, string path, string title,
        string xLabel, string yLabel, bool percent = true, int width = 900, int height = 560)
    {
        ArgumentNullException.ThrowIfNull(series);
        Save(path, width, height, title, xLabel, yLabel, series.Select(s => (s.Name, s.Points.OrderBy(p => p.X).ToList())), percent);
    }

    /// <summary>"worst case", "upper bound (gradient attacks only)", or "minimum over attacks" when the ε differ.</summary>
    private static string MinimumLabel(RobustnessReport report)
    {
        var bounds = report.WorstCase.Select(w => w.Bound).Distinct().ToList();
        return bounds.Count == 1 ? WorstCaseResult.LabelOf(bounds[0]) : "minimum over attacks (upper bound where no Square)";
    }

    private static string ArtifactSuffix(RobustnessReport report) => report.Artifact.Length > 0 ? $" ({report.Artifact})" : "";

    private static List<(double X, double Y)> Points(double clean, IEnumerable<(double X, double Y)> points)
    {
        var list = points.OrderBy(p => p.X).ToList();
        if (list.Count == 0 || list[0].X > 0) list.Insert(0, (0, clean));
        return list;
    }

    private static void Save(string path, int width, int height, string title, string xLabel, string yLabel,
        IEnumerable<(string Name, List<(double X, double Y)> Points)> series, bool percent = true)
    {
        var plot = new Plot();
        foreach (var (name, points) in series)
        {
            if (points.Count == 0) continue;
            var line = plot.Add.Scatter(points.Select(p => p.X).ToArray(), points.Select(p => percent ? 100 * p.Y : p.Y).ToArray());
            line.LegendText = name;
            line.MarkerSize = 7;
            line.LineWidth = 2;
        }
        plot.Title(title);
        plot.XLabel(xLabel);
        plot.YLabel(yLabel);
        if (percent) plot.Axes.SetLimitsY(0, 100);
        plot.ShowLegend(Alignment.UpperRight);
        AtomicFile.WriteAllBytes(path, plot.GetImageBytes(width, height, ImageFormat.Png));
    }
}
