using DqMlNet.Data;
using DqMlNet.Models;
using DqMlNet.Trainers;
using DqMlNet.TorchTraining;
using DqMlNet.Transforms;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace DqMlNet.Tests;

/// <summary>
/// The <c>MulticlassClassification.Trainers.DefensiveQuantize</c> entry point as an ML.NET user meets it: custom column
/// names, a validation set reported per epoch (progress and ML.NET's log), and an MLImage feature column.
/// </summary>
public class TrainerCatalogTests(PngFixture png) : IClassFixture<PngFixture>
{
    /// <summary>The fixture under other column names than ML.NET's defaults.</summary>
    public sealed class CustomRow
    {
        [VectorType(1, 28, 28)]
        public float[] Img { get; set; } = Array.Empty<float>();

        public string Lbl { get; set; } = "";
    }

    private static List<CustomRow> Rows(DatasetSplit split, int count) =>
        VectorData.Rows(split, count).Select(r => new CustomRow { Img = r.Features, Lbl = r.Label }).ToList();

    /// <summary>Collects reports synchronously (Progress&lt;T&gt; would post them to the thread pool).</summary>
    private sealed class Recorder : IProgress<TrainingProgress>
    {
        public List<TrainingProgress> Reports { get; } = new();

        public void Report(TrainingProgress value) => Reports.Add(value);
    }

    [Fact]
    public void TrainersEntryPointHonoursCustomColumnsAndReportsValidationPerEpoch()
    {
        var ml = new MLContext(seed: 0);
        var log = new List<string>();
        ml.Log += (_, e) => { lock (log) log.Add(e.Message); };
        var train = ml.Data.LoadFromEnumerable(Rows(DatasetSplit.Train, 1000));
        var validationRows = ml.Data.LoadFromEnumerable(Rows(DatasetSplit.Test, 300));
        // ML.NET's trainers take the validation set as the trainer sees it: transformed like the training data.
        var keys = ml.Transforms.Conversion.MapValueToKey("Lbl").Fit(train);
        var validation = keys.Transform(validationRows);

        var recorder = new Recorder();
        var trainer = ml.MulticlassClassification.Trainers.DefensiveQuantize(new DefensiveQuantizationEstimator.Options
        {
            LabelColumnName = "Lbl", FeatureColumnName = "Img", ScoreColumnName = "MyScore", PredictionColumnName = "MyPrediction",
            ValidationSet = validation, MaxEpoch = 2, BatchSize = 64, Seed = 2, Threads = TestData.Threads, Progress = recorder,
        });
        var model = ml.Transforms.Conversion.MapValueToKey("Lbl").Append(trainer).Fit(train); // the same keys: fitted on the same data
        var scored = model.Transform(validationRows);

        Assert.Equal(new VectorDataViewType(NumberDataViewType.Single, 10), scored.Schema["MyScore"].Type);
        Assert.Equal(new KeyDataViewType(typeof(uint), 10), scored.Schema["MyPrediction"].Type);
        Assert.Null(scored.Schema.GetColumnOrNull("Score"));
        Assert.Null(scored.Schema.GetColumnOrNull("PredictedLabel"));
        var metrics = ml.MulticlassClassification.Evaluate(scored, labelColumnName: "Lbl", scoreColumnName: "MyScore", predictedLabelColumnName: "MyPrediction");
        Assert.True(metrics.MicroAccuracy > 0.6, $"micro accuracy {metrics.MicroAccuracy:P1}");

        var stage = model.LastTransformer;
        Assert.Equal((1, 28, 28, 10), (stage.Model.Spec.Channels, stage.Model.Spec.Height, stage.Model.Spec.Width, stage.Model.Spec.NumClasses));
        Assert.Equal(TrainingMode.Defensive, stage.Model.Spec.Mode);

        // One validation accuracy per epoch, through progress and ML.NET's log; the last one is the fitted model's.
        var epochEnds = recorder.Reports.Where(r => r.IsEpochEnd).ToList();
        Assert.Equal(new[] { 1, 2 }, epochEnds.Select(r => r.Epoch));
        Assert.All(epochEnds, r => Assert.InRange(r.ValidationAccuracy!.Value, 0.3, 1.0));
        Assert.InRange(epochEnds[^1].ValidationAccuracy!.Value - metrics.MicroAccuracy, -0.01, 0.01);
        var lines = log.Where(m => m.Contains("validation accuracy")).ToList();
        Assert.Equal(2, lines.Count);
        Assert.Contains("epoch 1/2", lines[0]);
        Assert.Contains("epoch 2/2", lines[1]);
    }

    [Fact]
    public void ShortOverloadBuildsTheSameEstimatorAsTheOptionsOverloadAndTheShorthand()
    {
        var ml = new MLContext(seed: 0);
        var validation = ml.Data.LoadFromEnumerable(Rows(DatasetSplit.Test, 10));
        var viaCatalog = ml.MulticlassClassification.Trainers.DefensiveQuantize("Lbl", "Img", "MyScore", "MyPrediction", validation,
            TrainingMode.Vanilla, activationBits: 3, maxEpoch: 5, batchSize: 16).GetOptions();
        var viaShorthand = ml.DefensiveQuantize("Lbl", "Img", "MyScore", "MyPrediction", validation,
            TrainingMode.Vanilla, activationBits: 3, maxEpoch: 5, batchSize: 16).GetOptions();
        foreach (var o in new[] { viaCatalog, viaShorthand })
        {
            Assert.Equal(("Lbl", "Img", "MyScore", "MyPrediction"), (o.LabelColumnName, o.FeatureColumnName, o.ScoreColumnName, o.PredictionColumnName));
            Assert.Same(validation, o.ValidationSet);
            Assert.Equal((TrainingMode.Vanilla, 3, 5, 16), (o.Mode, o.ActivationBits, o.MaxEpoch, o.BatchSize));
            Assert.Null(o.Beta);
            Assert.Null(o.ImageChannels);
        }
        var defaults = new DefensiveQuantizationEstimator.Options();
        var shortDefaults = ml.MulticlassClassification.Trainers.DefensiveQuantize().GetOptions();
        Assert.Equal((defaults.Mode, defaults.ActivationBits, defaults.MaxEpoch, defaults.BatchSize, defaults.Beta),
            (shortDefaults.Mode, shortDefaults.ActivationBits, shortDefaults.MaxEpoch, shortDefaults.BatchSize, shortDefaults.Beta));
    }

    [Fact]
    public void MLImageColumnGivesTheShapeAndScoresLikeThePixelPipeline()
    {
        var ml = new MLContext(seed: 0);
        var images = ml.Transforms.LoadImages("Image", imageFolder: null, inputColumnName: "ImagePath")
            .Append(ml.Transforms.ResizeImages("Image", 28, 28))
            .Append(ml.Transforms.Conversion.MapValueToKey("Label"));
        var train = ml.Data.LoadFromEnumerable(png.Train);
        var test = ml.Data.LoadFromEnumerable(png.Test);

        // An MLImage is a colour bitmap: 3 channels unless the options say 1.
        var colour = images.Append(ml.MulticlassClassification.Trainers.DefensiveQuantize(new DefensiveQuantizationEstimator.Options
        {
            FeatureColumnName = "Image", MaxEpoch = 3, BatchSize = 32, Seed = 1, Threads = TestData.Threads,
        })).Fit(train);
        var spec = colour.LastTransformer.Model.Spec;
        Assert.Equal((3, 28, 28), (spec.Channels, spec.Height, spec.Width));
        var metrics = ml.MulticlassClassification.Evaluate(colour.Transform(test));
        Assert.True(metrics.MicroAccuracy > 0.55, $"micro accuracy {metrics.MicroAccuracy:P1}");

        var grey = images.Append(ml.MulticlassClassification.Trainers.DefensiveQuantize(featureColumnName: "Image", maxEpoch: 1, imageChannels: 1))
            .Fit(ml.Data.TakeRows(train, 200));
        Assert.Equal((1, 28, 28), (grey.LastTransformer.Model.Spec.Channels, grey.LastTransformer.Model.Spec.Height, grey.LastTransformer.Model.Spec.Width));
        var scores = grey.Transform(test).GetColumn<float[]>("Score").ToList();
        Assert.Equal(png.Test.Count, scores.Count);
        Assert.All(scores, s => Assert.Equal(1.0, s.Sum(), 3));
    }

    [Fact]
    public void MLImageWithoutAFixedSizeOrWithFourChannelsFailsInSchemaPropagation()
    {
        var ml = new MLContext(seed: 0);
        var data = ml.Data.LoadFromEnumerable(png.Train.Take(4));
        var unsized = ml.Transforms.LoadImages("Image", imageFolder: null, inputColumnName: "ImagePath")
            .Append(ml.Transforms.Conversion.MapValueToKey("Label"))
            .Append(ml.MulticlassClassification.Trainers.DefensiveQuantize(featureColumnName: "Image"));
        var error = Assert.Throws<ArgumentException>(() => unsized.Fit(data));
        Assert.Contains("'Image' has no fixed size", error.Message);
        Assert.Contains("ResizeImages", error.Message);

        var fourChannels = ml.Transforms.LoadImages("Image", imageFolder: null, inputColumnName: "ImagePath")
            .Append(ml.Transforms.ResizeImages("Image", 28, 28))
            .Append(ml.Transforms.Conversion.MapValueToKey("Label"))
            .Append(ml.MulticlassClassification.Trainers.DefensiveQuantize(featureColumnName: "Image", imageChannels: 4));
        Assert.Contains("ImageChannels = 4", Assert.Throws<ArgumentException>(() => fourChannels.Fit(data)).Message);
    }
}
