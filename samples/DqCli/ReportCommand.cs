using System.CommandLine;
using System.Text;
using DqMlNet.Data;
using DqMlNet.Evaluators;
using Spectre.Console;

namespace DqMlNet.Cli;

/// <summary><c>dq report</c>: a robustness JSON → Markdown (and optionally a PNG plot).</summary>
internal static class ReportCommand
{
    public static Command Create(IAnsiConsole console, TextWriter error)
    {
        var json = DqCommand.InputFile("report", "A robustness report JSON (written by dq evaluate or RobustnessMetrics.WriteReport).");
        var output = new Option<FileInfo?>("--output", "-o") { Description = "Markdown file to write. Default: print to the console." };
        var png = new Option<FileInfo?>("--png") { Description = "Also plot robust accuracy by attack and ε to this PNG file." };
        var force = DqCommand.ForceOption();
        var command = new Command("report", "Render a robustness report JSON as Markdown (and optionally a PNG plot); `dq report merge` joins shard reports.")
        {
            json, output, png, force, ReportMergeCommand.Create(console, error),
        };
        command.SetAction(parse => DqCommand.Guard(error, () =>
        {
            var input = DqCommand.RequireFile(parse.GetValue(json)!);
            bool overwrite = parse.GetValue(force);
            var plan = new OutputPlan().Input("report", input.FullName);
            if (parse.GetValue(output) is FileInfo o) plan.Output("--output", o.FullName);
            if (parse.GetValue(png) is FileInfo p) plan.Output("--png", p.FullName);
            plan.Validate(overwrite);
            var report = ReportWriter.ReadJson(input.FullName);
            if (parse.GetValue(output) is FileInfo md)
            {
                AtomicFile.WriteAllBytes(md.FullName, Encoding.UTF8.GetBytes(ReportWriter.ToMarkdown(report)), overwrite);
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
