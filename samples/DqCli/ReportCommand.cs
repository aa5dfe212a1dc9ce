using System.CommandLine;
using DqMlNet.Evaluators;
using Spectre.Console;

namespace DqMlNet.Cli;

/// <summary><c>dq report</c>: a robustness JSON → Markdown (and optionally a PNG plot).</summary>
internal static class ReportCommand
{
    public static Command Create(IAnsiConsole console, TextWriter error)
    {
        var json = DqCommand.ExistingFile("report", "A robustness report JSON (written by dq evaluate or RobustnessMetrics.WriteReport).");
        var output = new Option<FileInfo?>("--output", "-o") { Description = "Markdown file to write. Default: print to the console." };
        var png = new Option<FileInfo?>("--png") { Description = "Also plot robust accuracy by attack and ε to this PNG file." };
        var command = new Command("report", "Render a robustness report JSON as Markdown (and optionally a PNG plot).") { json, output, png };
        command.SetAction(parse => DqCommand.Guard(error, () =>
        {
            var report = ReportWriter.ReadJson(parse.GetValue(json)!.FullName);
            if (parse.GetValue(output) is FileInfo md)
            {
                ReportWriter.WriteMarkdown(report, md.FullName);
                console.MarkupLineInterpolated($"Wrote {md.FullName}");
            }
            else
            {
                console.Profile.Out.Writer.Write(ReportWriter.ToMarkdown(report));
            }
            if (parse.GetValue(png) is FileInfo plot)
            {
                // ScottPlot/SkiaSharp 3: safe here because the CLI never decodes images with ML.NET ImageAnalytics.
                ReportPlots.RobustAccuracyByAttack(report, plot.FullName);
                console.MarkupLineInterpolated($"Wrote {plot.FullName}");
            }
            return 0;
        }));
        return command;
    }
}
