using System.CommandLine;
using System.Text;
using DqMlNet.Data;
using DqMlNet.Evaluators;
using Spectre.Console;

namespace DqMlNet.Cli;

/// <summary>
/// <c>dq report merge shards/*.json -o report.json</c>: joins the shard reports of one evaluation (<c>dq evaluate
/// --shard i/N</c>) into the report one process evaluating every row writes (JSON + Markdown). Refuses, with exit code 4
/// and the reason, shards of different models, suites, seeds or data, and shards that overlap or leave rows out.
/// </summary>
internal static class ReportMergeCommand
{
    public static Command Create(IAnsiConsole console, TextWriter error)
    {
        var shards = new Argument<FileInfo[]>("shards") { Description = "The shard reports (dq evaluate --shard i/N), every shard once, in any order.", Arity = ArgumentArity.OneOrMore };
        var output = new Option<FileInfo>("--output", "-o") { Description = "Merged report JSON to write (a .md is written next to it).", Required = true };
        var force = DqCommand.ForceOption();
        var command = new Command("merge", "Merge the shard reports of one evaluation into one report (checked: one model, suite, seed and data; every row exactly once).")
        {
            shards, output, force,
        };
        command.SetAction(parse => DqCommand.Guard(error, () =>
        {
            var inputs = parse.GetValue(shards)!.Select(DqCommand.RequireFile).ToList();
            var target = parse.GetValue(output)!.FullName;
            var markdown = Path.ChangeExtension(target, ".md");
            bool overwrite = parse.GetValue(force);
            var plan = new OutputPlan();
            foreach (var file in inputs) plan.Input("shard report", file.FullName);
            plan.Output("--output", target).Output("the Markdown report (the JSON path with .md)", markdown).Validate(overwrite);

            // ReadJson names the file in every error (too large, not JSON, not a report).
            var reports = inputs.Select(file => ReportWriter.ReadJson(file.FullName)).ToList();
            var merged = RobustnessShards.Merge(reports, inputs.Select(f => $"'{f.FullName}'").ToList());
            AtomicFile.WriteAllBytes(target, Encoding.UTF8.GetBytes(ReportWriter.ToJson(merged)), overwrite);
            AtomicFile.WriteAllBytes(markdown, Encoding.UTF8.GetBytes(ReportWriter.ToMarkdown(merged)), overwrite);
            console.MarkupLineInterpolated($"Merged {inputs.Count} shards ({merged.N} images, clean accuracy {merged.CleanAccuracy:P2}) into {target} and {markdown}");
            foreach (var w in merged.WorstCase)
                console.MarkupLineInterpolated($"  ε = {w.Epsilon:G3}: {w.Label} {w.RobustAccuracy:P2}");
            return 0;
        }));
        return command;
    }
}
