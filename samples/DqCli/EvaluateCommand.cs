using System.CommandLine;
using System.Text;
using DqMlNet.Data;
using DqMlNet.Evaluators;
using DqMlNet.Transforms.Onnx;
using Microsoft.ML;
using Spectre.Console;

namespace DqMlNet.Cli;

/// <summary>
/// <c>dq evaluate</c>: robustness on Fashion-MNIST test images of what ships. A DqMlNet zip or a DqMlNet ONNX export is
/// attacked white-box: ONNX Runtime scores every candidate and gives every verdict, the export's differentiable twin
/// gives the gradients. Any other ONNX classifier is score-only: score-based attacks (Square) and noise run, a gradient
/// attack named on the command line is refused (exit code 2) rather than skipped, and the report warns that its numbers
/// are upper bounds from score-based attacks alone.
/// </summary>
internal static class EvaluateCommand
{
    public static Command Create(IAnsiConsole console, TextWriter error)
    {
        var model = DqCommand.InputFile("model",
            "A DqMlNet ML.NET model zip or ONNX export (attacked white-box), or any other ONNX image classifier (.onnx, score-only: Square and Noise).");
        var data = DqCommand.DataOption();
        var attacks = DqCommand.AttacksOption();
        var eps = DqCommand.EpsilonsOption();
        var limit = DqCommand.PositiveInt("--limit", "Test images to attack.", 500);
        var steps = DqCommand.PositiveInt("--steps", "Iterations of iterative attacks (PGD, BIM, APGD).", 20);
        var queries = DqCommand.PositiveInt("--square-queries", "Query budget of the Square attack.", 1000);
        var seed = new Option<long>("--seed") { Description = "Attack seed.", DefaultValueFactory = _ => 0 };
        var output = new Option<FileInfo?>("--output", "-o") { Description = "Report JSON to write (a .md is written next to it). Default: <model>.robustness.json." };
        var force = DqCommand.ForceOption();
        var shard = ShardOption.Create();
        var layout = ShardOption.LayoutOption();
        var suiteOption = new Option<string>("--suite")
        {
            Description = "The attack suite when --attacks is not given: light (default: APGD-CE, APGD-T with 3 targets, Square with " +
                          "--square-queries, smooth-proxy PGD), autoattack (AutoAttack's standard suite at its published budgets — APGD-CE, " +
                          "APGD-T with 9 targets, FAB-T, Square with 5,000 queries — run as a cascade; use it for a claim about a low-bit " +
                          "model, where the light suite's worst case can lie several points higher) or quick (FGSM, PGD: an upper bound only).",
            DefaultValueFactory = _ => "light",
        };
        suiteOption.AcceptOnlyFromAmong("light", "autoattack", "quick");
        var cascade = new Option<bool>("--cascade") { Description = "AutoAttack's order: each attack after the first attacks only the images the earlier ones failed to fool (cumulative rows)." };
        var device = new Option<string?>("--device") { Description = "Device of the attacks' gradients: cpu (default), cuda or cuda:N (needs the TorchSharp-cuda package and a GPU)." };
        var threads = DqCommand.PositiveInt("--threads", "LibTorch threads (same seed and thread count: same numbers).");
        var cost = new Option<bool>("--cost")
        {
            Description = "Also print the cost per image of every attack × ε (wall-clock seconds / images attacked) — measure on an idle machine.",
        };
        var command = new Command("evaluate", "Evaluate robustness (attacks × ε, worst case) and write a JSON + Markdown report.")
        {
            model, data, attacks, suiteOption, eps, limit, steps, queries, seed, output, force, shard, layout, cascade, device, threads, cost,
        };
        command.SetAction(parse => DqCommand.Guard(error, () =>
        {
            var file = parse.GetValue(model)!;
            bool onnx = CliData.IsOnnx(file);
            var names = parse.GetValue(attacks) is { Length: > 0 } given ? given : null;
            int s = parse.GetValue(steps) ?? 20, q = parse.GetValue(queries) ?? 1000;
            var named = names?.Select(n => AttackEntry.Named(n, s, q)).ToArray(); // unknown names fail here, before any file is read
            string suite = parse.GetValue(suiteOption)!;
            if (named is not null && parse.GetResult(suiteOption) is { Implicit: false })
                throw new CliException(ExitCodes.Usage, "--suite and --attacks both name the attacks; give one of them.");
            // Default: the light suite (APGD-CE, APGD-T, Square, smooth-proxy PGD), the same as RobustnessOptions'. A suite's
            // smooth-proxy PGD is only added for a quantized model (on a float one it is PGD again), so the attacks are
            // chosen again once the model is read; until then they are a quantized model's.
            IReadOnlyList<AttackEntry> AttacksFor(bool quantized) => named ?? suite switch
            {
                "autoattack" => AttackSuites.AutoAttack(quantized, proxySteps: s),
                "quick" => AttackSuites.Quick(s),
                _ => AttackSuites.Light(quantized, s, q),
            };
            var options = new RobustnessOptions
            {
                Attacks = AttacksFor(quantized: true),
                Epsilons = parse.GetValue(eps)!,
                Limit = parse.GetValue(limit),
                Seed = parse.GetValue(seed),
                // AutoAttack's budgets are affordable only as a cascade, as AutoAttack itself runs them.
                Cascade = parse.GetValue(cascade) || (named is null && suite == "autoattack"),
                Device = parse.GetValue(device),
                Shard = parse.GetValue(shard) is string text ? ShardOption.Parse(text, parse.GetValue(layout)!) : null,
            };
            options.Validate(); // a bad --device fails here, before the data is loaded
            if (parse.GetValue(threads) is int t) Runtime.TorchRuntime.SetThreads(t);
            var part = options.Shard;
            var target = parse.GetValue(output)?.FullName ?? CliData.Stem(file.FullName) +
                (part is { } p ? $".robustness.shard-{p.Index}-of-{p.Count}.json" : ".robustness.json");
            // A shard's report is a part for dq report merge; the Markdown summary belongs to the merged report.
            var markdown = part is null ? Path.ChangeExtension(target, ".md") : null;
            bool overwrite = parse.GetValue(force);
            DqCommand.RequireFile(file);
            CliData.RequireData(parse.GetValue(data));
            var plan = new OutputPlan().Input("model", file.FullName).Inputs("dataset file", CliData.DataFiles(parse.GetValue(data)))
                .Output(parse.GetValue(output) is null ? (part is null ? "the report <model>.robustness.json" : "the shard report") : "--output", target);
            if (markdown is not null) plan.Output("the Markdown report (the JSON path with .md: name the JSON, e.g. -o report.json)", markdown);
            plan.Validate(overwrite);
            // Which ONNX file this is decides what can be attacked: a foreign file has no differentiable twin.
            // Without --attacks or --suite, a foreign file gets its score-only default; otherwise its gradient attacks are refused.
            using var onnxModel = onnx ? OnnxTarget.Open(file, named is null && suite == "light" ? null : AttacksFor, s, q) : null;
            var modelSha256 = SideFile.Sha256(file.FullName); // the bytes evaluated: readers match the report to the model by it
            using var test = CliData.Load(parse.GetValue(data), DatasetSplit.Test, parse.GetValue(limit), Console.Error);

            RobustnessReport report = null!;
            console.Progress().AutoClear(false).Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn())
                .Start(ctx =>
                {
                    var task = ctx.AddTask("evaluating", maxValue: 1);
                    var progress = new Progress(p =>
                    {
                        task.MaxValue = p.Steps;
                        task.Value = p.Step;
                        task.Description = p.Epsilon is double e ? $"{p.Stage} ε={e:G3}" : p.Stage;
                    });
                    report = onnxModel is not null ? onnxModel.Evaluate(test, options, progress) : EvaluateZip(file, test, options, progress, AttacksFor);
                });

            report = report with { ModelSha256 = modelSha256 };
            AtomicFile.WriteAllBytes(target, Encoding.UTF8.GetBytes(ReportWriter.ToJson(report)), overwrite);
            if (markdown is not null) AtomicFile.WriteAllBytes(markdown, Encoding.UTF8.GetBytes(ReportWriter.ToMarkdown(report)), overwrite);
            Print(console, report);
            if (parse.GetValue(cost)) PrintCost(console, report);
            if (markdown is not null) console.MarkupLineInterpolated($"Wrote {target} and {markdown}");
            else console.MarkupLineInterpolated($"Wrote shard {part!.Value.Index}/{part.Value.Count} ({report.N} of {report.Shard!.TotalRows} rows) to {target}");
            return 0;
        }));
        return command;
    }

    private static RobustnessReport EvaluateZip(FileInfo zip, ImageDataset test, RobustnessOptions options, IProgress<EvaluationProgress> progress,
        Func<bool, IReadOnlyList<AttackEntry>> attacksFor)
    {
        var ml = new MLContext(seed: 0);
        var (loaded, stage) = CliData.LoadZip(ml, zip);
        try
        {
            var spec = stage.Model.Spec;
            CheckShape(spec.Channels, spec.Height, spec.Width, test);
            options = options with { Attacks = attacksFor(spec.IsQuantized) };
            var missing = test.ClassNames.Except(stage.ClassNames).ToList();
            if (missing.Count > 0)
                throw new InvalidDataException($"The model's classes ({string.Join(", ", stage.ClassNames)}) do not include {string.Join(", ", missing)}: it was not trained on Fashion-MNIST.");
            var view = CliData.KeyLabel(ml, stage.ClassNames).Fit(CliData.View(ml, test, stage.Columns.Features)).Transform(CliData.View(ml, test, stage.Columns.Features));
            return ml.MulticlassClassification.EvaluateRobustness(stage, view, options: options, progress: progress).Report;
        }
        finally
        {
            (loaded as IDisposable)?.Dispose();
        }
    }

    internal static void CheckShape(int c, int h, int w, ImageDataset test)
    {
        if (c != test.Channels || h != test.Height || w != test.Width)
            throw new InvalidDataException($"The model expects {c}×{h}×{w} images but the test data is {test.Channels}×{test.Height}×{test.Width}.");
    }

    private static void Print(IAnsiConsole console, RobustnessReport report)
    {
        console.MarkupLineInterpolated($"[bold]{report.Model}[/] — {report.N} images, clean accuracy {report.CleanAccuracy:P2}");
        var table = new Table().AddColumns("attack", "ε", "robust accuracy", "success rate", "mean ‖δ‖", "time");
        foreach (var a in report.Attacks)
            table.AddRow(Markup.Escape(a.Name), $"{a.Epsilon:G3}", $"{a.RobustAccuracy:P2}", $"{a.SuccessRate:P1}", $"{a.MeanPerturbation:F4}", $"{a.Seconds:F1} s");
        foreach (var w in report.WorstCase)
            table.AddRow("[bold]worst case[/]", $"{w.Epsilon:G3}", $"[bold]{w.RobustAccuracy:P2}[/]", "", "", "");
        console.Write(table);
        foreach (var warning in report.Warnings) console.MarkupLineInterpolated($"[yellow]warning:[/] {warning}");
    }

    /// <summary>
    /// Seconds per image of every attack × ε: its wall-clock time over the images it attacked (in a cascade, the
    /// survivors). Only meaningful on an otherwise idle machine with a fixed --threads.
    /// </summary>
    private static void PrintCost(IAnsiConsole console, RobustnessReport report)
    {
        var table = new Table().AddColumns("attack", "ε", "images attacked", "seconds", "seconds / image");
        foreach (var a in report.Attacks)
        {
            int attacked = a.Attacked ?? report.N;
            table.AddRow(Markup.Escape(a.Name), $"{a.Epsilon:G3}", $"{attacked}", $"{a.Seconds:F2}", attacked == 0 ? "–" : $"{a.Seconds / attacked:G4}");
        }
        console.MarkupLine($"Cost per image ({Runtime.TorchRuntime.Threads} LibTorch threads; wall clock, so measure on an idle machine):");
        console.Write(table);
    }

    private sealed class Progress(Action<EvaluationProgress> report) : IProgress<EvaluationProgress>
    {
        public void Report(EvaluationProgress value) => report(value);
    }
}
