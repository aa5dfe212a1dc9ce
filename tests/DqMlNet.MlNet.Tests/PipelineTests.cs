using System.Diagnostics;
using System.Globalization;
using DqMlNet.Models;
using DqMlNet.Trainers;
using DqMlNet.Transforms;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Transforms.Image;

namespace DqMlNet.Tests;

public class PipelineTests(PngFixture png) : IClassFixture<PngFixture>
{
    internal static IEstimator<ITransformer> Pipeline(MLContext ml, TrainingMode mode = TrainingMode.Defensive, int epochs = 3) =>
        ml.Transforms.LoadImages("Image", imageFolder: null, inputColumnName: "ImagePath")
            .Append(ml.Transforms.ResizeImages("Image", 28, 28))
            .Append(ml.Transforms.ExtractPixels("Features", "Image", colorsToExtract: ImagePixelExtractingEstimator.ColorBits.Red, scaleImage: 1f / 255))
            .Append(ml.Transforms.Conversion.MapValueToKey("Label"))
            .Append(ml.DefensiveQuantize(new DefensiveQuantizationEstimator.Options
            {
                Mode = mode, ActivationBits = 4, Beta = 2e-3, MaxEpoch = epochs, BatchSize = 64, Seed = 1, Threads = TestData.Threads,
            }))
            .Append(ml.Transforms.Conversion.MapKeyToValue("PredictedLabel"));

    [Fact]
    public void PngPipelineTrainsScoresAndEvaluates()
    {
        var ml = new MLContext(seed: 0);
        var model = Pipeline(ml).Fit(ml.Data.LoadFromEnumerable(png.Train));
        var scored = model.Transform(ml.Data.LoadFromEnumerable(png.Test));
        var schema = scored.Schema;
        Assert.Equal(new VectorDataViewType(NumberDataViewType.Single, 10), schema["Score"].Type);
        Assert.Equal(TextDataViewType.Instance, schema["PredictedLabel"].Type); // after MapKeyToValue
        VBuffer<ReadOnlyMemory<char>> slots = default;
        schema["Score"].GetSlotNames(ref slots);
        Assert.Equal(10, slots.Length);

        // Evaluate needs the key-typed columns: evaluate before MapKeyToValue, as users do.
        var keyed = ((IEnumerable<ITransformer>)model).Take(5).Aggregate(
            (IDataView)ml.Data.LoadFromEnumerable(png.Test), (view, t) => t.Transform(view));
        var metrics = ml.MulticlassClassification.Evaluate(keyed);
        Assert.True(metrics.MicroAccuracy > 0.6, $"micro accuracy {metrics.MicroAccuracy:P1}");
        Assert.Equal(10, metrics.ConfusionMatrix.NumberOfClasses);

        var predicted = scored.GetColumn<string>("PredictedLabel").ToList();
        var truth = png.Test.Select(r => r.Label).ToList();
        double agreement = predicted.Zip(truth).Count(p => p.First == p.Second) / (double)truth.Count;
        Assert.Equal(metrics.MicroAccuracy, agreement, 6);
        Assert.All(scored.GetColumn<float[]>("Score"), s => Assert.Equal(1.0, s.Sum(), 3));
    }

    [Fact]
    public void SavedModelScoresIdenticallyInAnotherProcessAndTypedLoadRestoresTheStage()
    {
        var ml = new MLContext(seed: 0);
        var train = ml.Data.LoadFromEnumerable(png.Train);
        var model = Pipeline(ml).Fit(train);
        var testView = ml.Data.LoadFromEnumerable(png.Test);
        var scored = model.Transform(testView);
        var expectedLabels = scored.GetColumn<string>("PredictedLabel").ToList();
        var expectedScores = scored.GetColumn<float[]>("Score").ToList();

        var dir = TestData.TempDirectory();
        try
        {
            var zip = Path.Combine(dir, "dq4.zip");
            ml.Model.Save(model, train.Schema, zip);
            Assert.Empty(Directory.GetFiles(dir, "*.tmp"));
            var list = Path.Combine(dir, "images.txt");
            File.WriteAllLines(list, png.Test.Select(r => r.ImagePath));

            var output = RunScoringApp(zip, list);
            var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.Equal(png.Test.Count + 1, lines.Length);
            for (int i = 0; i < png.Test.Count; i++)
            {
                var parts = lines[i].Split('\t');
                Assert.Equal(expectedLabels[i], parts[0]);
                var scores = parts[1].Split(',').Select(s => float.Parse(s, CultureInfo.InvariantCulture)).ToArray();
                for (int k = 0; k < 10; k++) Assert.Equal(expectedScores[i][k], scores[k], 1e-3f);
            }
            Assert.Equal("single\t" + expectedLabels[0], lines[^1].TrimEnd());

            // Typed load: the DQ stage comes back as a DefensiveQuantizationTransformer with its TorchSharp model and class names.
            var typed = DqModelFile.Load(ml, zip, out var inputSchema);
            var stage = ((IEnumerable<ITransformer>)typed).OfType<DefensiveQuantizationTransformer>().Single();
            Assert.Equal(TrainingMode.Defensive, stage.Model.Spec.Mode);
            Assert.Contains("Coat", stage.ClassNames);
            var retyped = typed.Transform(testView);
            Assert.Equal(expectedLabels, retyped.GetColumn<string>("PredictedLabel").ToList());
            var engine = ml.Model.CreatePredictionEngine<ImageRow, LabelPrediction>(typed, inputSchema);
            Assert.Equal(expectedLabels[3], engine.Predict(png.Test[3]).PredictedLabel);
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    private static string RunScoringApp(string zip, string list)
    {
        string configuration =
#if CONFIGURATION_Release
            "Release";
#else
            "Debug";
#endif
        var app = Path.GetFullPath(Path.Combine(AppContext.BaseDirectory, "..", "..", "..", "..", "ScoringApp", "bin", configuration, "net10.0", "ScoringApp.dll"));
        Assert.True(File.Exists(app), $"scoring app not built at {app}");
        var psi = new ProcessStartInfo("dotnet", $"\"{app}\" \"{zip}\" \"{list}\"") { RedirectStandardOutput = true, RedirectStandardError = true };
        using var process = Process.Start(psi)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        Assert.True(process.WaitForExit(120_000), "scoring app timed out");
        Assert.True(process.ExitCode == 0, $"scoring app failed ({process.ExitCode}): {stderr.Result}");
        return stdout.Result;
    }

    public sealed class LabelPrediction
    {
        public string PredictedLabel { get; set; } = "";
        public float[] Score { get; set; } = Array.Empty<float>();
    }
}
