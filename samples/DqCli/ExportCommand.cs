using System.CommandLine;
using System.Text.Json;
using DqMlNet.Data;
using DqMlNet.Transforms.Onnx;
using Microsoft.ML;
using Spectre.Console;

namespace DqMlNet.Cli;

/// <summary><c>dq export</c>: a DqMlNet ML.NET zip → ONNX (typed load + <see cref="OnnxExporter"/>).</summary>
internal static class ExportCommand
{
    public static Command Create(IAnsiConsole console, TextWriter error)
    {
        var model = DqCommand.InputFile("model", "The ML.NET model zip (saved from a pipeline with DefensiveQuantize).");
        var output = new Option<FileInfo?>("--output", "-o") { Description = "ONNX file to write. Default: the model path with .onnx." };
        var beta = new Option<double?>("--beta") { Description = "β to record in the ONNX metadata. Default: from <model>.training.json when it records this zip's SHA-256." };
        var floatWeights = new Option<bool>("--float-weights") { Description = "Store float weights instead of int8 (VQ/DQ models)." };
        var force = DqCommand.ForceOption();
        var command = new Command("export", "Export a DqMlNet model zip to ONNX (standard input [N, C, H, W], probabilities output, metadata).")
        {
            model, output, beta, floatWeights, force,
        };
        command.SetAction(parse => DqCommand.Guard(error, () =>
        {
            var zip = DqCommand.RequireFile(parse.GetValue(model)!);
            if (CliData.IsOnnx(zip)) throw new ArgumentException($"'{zip.Name}' is already an ONNX file; export takes an ML.NET model zip.");
            var target = parse.GetValue(output)?.FullName ?? CliData.Stem(zip.FullName) + ".onnx";
            var sideFile = SideFile.PathFor(zip.FullName, ".training.json");
            bool overwrite = parse.GetValue(force);
            new OutputPlan().Input("model", zip.FullName).Inputs("training side file", new[] { sideFile })
                .Output(parse.GetValue(output) is null ? "the ONNX file <model>.onnx" : "--output", target)
                .Validate(overwrite);
            var ml = new MLContext(seed: 0);
            var (loaded, stage) = CliData.LoadZip(ml, zip);
            var options = new OnnxExportOptions
            {
                Beta = parse.GetValue(beta) ?? ReadBeta(sideFile, zip.FullName, error),
                ClassNames = stage.ClassNames,
                QuantizeWeights = !parse.GetValue(floatWeights),
            };
            AtomicFile.WriteAllBytes(target, OnnxExporter.ToBytes(stage.Model, options), overwrite);
            (loaded as IDisposable)?.Dispose();
            console.MarkupLineInterpolated($"Exported [bold]{Evaluators.RobustnessEvaluator.Describe(stage.Model.Spec)}[/] to {target}");
            return 0;
        }));
        return command;
    }

    /// <summary>β from the training side file, when it belongs to this zip (its recorded hash matches).</summary>
    private static double? ReadBeta(string path, string zip, TextWriter error)
    {
        if (!SideFile.BelongsTo(path, zip, warning => error.WriteLine($"warning: {warning}"))) return null;
        using var doc = JsonDocument.Parse(File.ReadAllText(path));
        return doc.RootElement.TryGetProperty("beta", out var b) && b.ValueKind == JsonValueKind.Number ? b.GetDouble() : null;
    }
}
