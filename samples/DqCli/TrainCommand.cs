using System.CommandLine;
using System.Diagnostics;
using System.Text.Json;
using DqMlNet.Data;
using DqMlNet.Models;
using DqMlNet.Trainers;
using DqMlNet.TorchTraining;
using DqMlNet.Transforms.Onnx;
using Microsoft.ML;
using Spectre.Console;

namespace DqMlNet.Cli;

/// <summary><c>dq train</c>: trains SmallCnn on Fashion-MNIST through the ML.NET estimator and saves an ML.NET zip.</summary>
internal static class TrainCommand
{
    public static Command Create(IAnsiConsole console, TextWriter error)
    {
        var data = DqCommand.DataOption();
        var mode = new Option<string>("--mode") { Description = "fp (full precision), vq (vanilla quantization) or dq (quantization + Lipschitz regulariser).", DefaultValueFactory = _ => "dq" };
        mode.AcceptOnlyFromAmong("fp", "vq", "dq");
        var bits = DqCommand.PositiveInt("--bits", "Activation bits k for vq/dq (1..8).", 4);
        bits.Validators.Add(r => { if (r.GetValueOrDefault<int?>() is > 8) r.AddError("--bits must be between 1 and 8."); });
        var beta = new Option<double>("--beta") { Description = "Lipschitz regulariser β (dq only).", DefaultValueFactory = _ => 2e-3 };
        beta.Validators.Add(r => { if (!(r.GetValueOrDefault<double>() >= 0)) r.AddError("--beta must be a non-negative number."); });
        var epochs = DqCommand.PositiveInt("--epochs", "Training epochs.", 2);
        var trainLimit = DqCommand.PositiveInt("--train-limit", "Use only the first N training images.");
        var testLimit = DqCommand.PositiveInt("--test-limit", "Test images for the accuracy printed at the end.", 2000);
        var batch = DqCommand.PositiveInt("--batch-size", "Mini-batch size.", 128);
        var seed = new Option<int>("--seed") { Description = "Random seed.", DefaultValueFactory = _ => 0 };
        var threads = DqCommand.PositiveInt("--threads", "LibTorch threads.");
        var device = new Option<string>("--device") { Description = "Training device: cpu (default), cuda or cuda:N (needs the TorchSharp-cuda package and a GPU).", DefaultValueFactory = _ => "cpu" };
        var output = new Option<FileInfo>("--output", "-o") { Description = "Where to save the ML.NET model zip (its <name>.training.json side file is written next to it).", DefaultValueFactory = _ => new FileInfo("model.zip") };
        var onnx = new Option<FileInfo?>("--onnx") { Description = "Also export the model as ONNX to this path." };
        var force = DqCommand.ForceOption();

        var command = new Command("train", "Train a SmallCnn (fp, vq or dq) on Fashion-MNIST and save it as an ML.NET model zip.")
        {
            data, mode, bits, beta, epochs, trainLimit, testLimit, batch, seed, threads, device, output, onnx, force,
        };
        command.SetAction(parse => DqCommand.Guard(error, () =>
        {
            var trainingMode = parse.GetValue(mode) switch { "fp" => TrainingMode.FullPrecision, "vq" => TrainingMode.Vanilla, _ => TrainingMode.Defensive };
            var zip = parse.GetValue(output)!;
            var sidecar = SideFile.PathFor(zip.FullName, ".training.json");
            bool overwrite = parse.GetValue(force);
            CliData.RequireData(parse.GetValue(data));
            var plan = new OutputPlan().Inputs("dataset file", CliData.DataFiles(parse.GetValue(data)))
                .Output("--output", zip.FullName).Output("the training side file <output>.training.json", sidecar);
            if (parse.GetValue(onnx) is FileInfo onnxTarget) plan.Output("--onnx", onnxTarget.FullName);
            plan.Validate(overwrite); // before the data is loaded and the model trained
            using var train = CliData.Load(parse.GetValue(data), DatasetSplit.Train, parse.GetValue(trainLimit), Console.Error);
            using var test = CliData.Load(parse.GetValue(data), DatasetSplit.Test, parse.GetValue(testLimit), Console.Error);
            console.MarkupLineInterpolated($"Training [bold]{parse.GetValue(mode)}[/] on {train.Count} images ({train.Channels}×{train.Height}×{train.Width}), {parse.GetValue(epochs)} epoch(s)");

            var ml = new MLContext(seed: parse.GetValue(seed));
            var options = new DefensiveQuantizationEstimator.Options
            {
                Mode = trainingMode, ActivationBits = parse.GetValue(bits) ?? 4, Beta = trainingMode == TrainingMode.Defensive ? parse.GetValue(beta) : null, MaxEpoch = parse.GetValue(epochs) ?? 2,
                BatchSize = parse.GetValue(batch) ?? 128, Seed = parse.GetValue(seed), Threads = parse.GetValue(threads), Device = parse.GetValue(device)!,
                ImageChannels = train.Channels, ImageHeight = train.Height, ImageWidth = train.Width,
            };
            var trainView = CliData.View(ml, train);
            var clock = Stopwatch.StartNew();
            ITransformer model = null!;
            console.Progress().AutoClear(false).Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn())
                .Start(ctx =>
                {
                    var task = ctx.AddTask("training", maxValue: 1);
                    options.Progress = new Progress(p =>
                    {
                        task.MaxValue = p.Epochs * p.Batches;
                        task.Value = (p.Epoch - 1) * p.Batches + p.Batch;
                        task.Description = $"epoch {p.Epoch}/{p.Epochs} CE {p.CrossEntropy:F3} acc {p.TrainAccuracy:P1}";
                    });
                    // The estimator copies its options when it is created: create it once the progress sink is set.
                    var pipeline = CliData.KeyLabel(ml, train.ClassNames)
                        .Append(ml.DefensiveQuantize(options))
                        .Append(ml.Transforms.Conversion.MapKeyToValue("PredictedLabel"));
                    model = pipeline.Fit(trainView);
                });
            var stage = CliData.FindStage(model)!;

            // Accuracy on the key-typed output (before MapKeyToValue).
            var chain = ((IEnumerable<ITransformer>)model).ToList();
            var keyed = chain[1].Transform(chain[0].Transform(CliData.View(ml, test)));
            var metrics = ml.MulticlassClassification.Evaluate(keyed);

            byte[] zipBytes;
            using (var buffer = new MemoryStream())
            {
                ml.Model.Save(model, trainView.Schema, buffer);
                zipBytes = buffer.ToArray();
            }
            AtomicFile.WriteAllBytes(zip.FullName, zipBytes, overwrite); // an older zip survives a failed save
            double? recordedBeta = trainingMode == TrainingMode.Defensive ? parse.GetValue(beta) : null;
            AtomicFile.WriteAllBytes(sidecar, JsonSerializer.SerializeToUtf8Bytes(new
            {
                modelSha256 = SideFile.Sha256(zipBytes), // readers use this file only for the zip with exactly these bytes
                mode = parse.GetValue(mode), activationBits = trainingMode == TrainingMode.FullPrecision ? (int?)null : options.ActivationBits,
                beta = recordedBeta, epochs = options.MaxEpoch, trainImages = train.Count, testImages = test.Count,
                testAccuracy = metrics.MicroAccuracy, seconds = clock.Elapsed.TotalSeconds,
            }, new JsonSerializerOptions { WriteIndented = true }), overwrite);
            if (parse.GetValue(onnx) is FileInfo onnxFile)
                AtomicFile.WriteAllBytes(onnxFile.FullName, OnnxExporter.ToBytes(stage.Model, new OnnxExportOptions { Beta = recordedBeta, ClassNames = stage.ClassNames }), overwrite);

            var table = new Table().AddColumns("model", "test accuracy", "test images", "time", "saved");
            table.AddRow(Markup.Escape(Evaluators.RobustnessEvaluator.Describe(stage.Model.Spec)), $"{metrics.MicroAccuracy:P2}", $"{test.Count}",
                $"{clock.Elapsed.TotalSeconds:F0} s", Markup.Escape(zip.FullName + (parse.GetValue(onnx) is FileInfo o ? $", {o.FullName}" : "")));
            console.Write(table);
            return 0;
        }));
        return command;
    }

    private sealed class Progress(Action<TrainingProgress> report) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value) => report(value);
    }
}
