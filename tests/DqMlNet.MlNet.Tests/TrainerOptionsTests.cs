using DqMlNet.Data;
using DqMlNet.Models;
using DqMlNet.Trainers;
using DqMlNet.TorchTraining;
using Microsoft.ML;
using Microsoft.ML.Data;
using TorchSharp;

namespace DqMlNet.Tests;

/// <summary>
/// The estimator's options as ML.NET documents its trainers' options: checked when the estimator is created (under
/// the names the user typed), copied then, the learning-rate ratios driving the per-step schedule, cancellation
/// stopping Fit at the next batch.
/// </summary>
public class TrainerOptionsTests
{
    private readonly MLContext ml = new(seed: 0);

    private sealed class Recorder(Action<TrainingProgress>? onReport = null) : IProgress<TrainingProgress>
    {
        public List<TrainingProgress> Reports { get; } = new();

        public void Report(TrainingProgress value)
        {
            Reports.Add(value);
            onReport?.Invoke(value);
        }
    }

    private IDataView Keyed(int count, DatasetSplit split = DatasetSplit.Train)
    {
        var view = VectorData.View(ml, VectorData.Rows(split, count));
        return ml.Transforms.Conversion.MapValueToKey("Label").Fit(view).Transform(view);
    }

    private static DefensiveQuantizationEstimator.Options Fast(int epochs = 1, int batchSize = 32) => new()
    {
        MaxEpoch = epochs, BatchSize = batchSize, Seed = 4, Threads = TestData.Threads, ProgressInterval = 1,
    };

    public static TheoryData<string, Action<DefensiveQuantizationEstimator.Options>, string> Invalid => new()
    {
        { "MaxEpoch = 0", o => o.MaxEpoch = 0, "MaxEpoch must be at least 1" },
        { "BatchSize = 0", o => o.BatchSize = 0, "BatchSize must be at least 1" },
        { "ActivationBits = 0", o => o.ActivationBits = 0, "ActivationBits must be between 1 and 8" },
        { "ActivationBits = 9", o => o.ActivationBits = 9, "ActivationBits must be between 1 and 8" },
        { "LearningRate = 0", o => o.LearningRate = 0, "LearningRate must be a finite positive number" },
        { "LearningRate < 0", o => o.LearningRate = -1e-3, "LearningRate must be a finite positive number" },
        { "WeightDecay < 0", o => o.WeightDecay = -1, "WeightDecay must be" },
        { "Beta with Vanilla", o => { o.Mode = TrainingMode.Vanilla; o.Beta = 1e-3; }, "Beta = 0.001 is the Lipschitz regulariser of Defensive mode, but Mode = Vanilla" },
        { "Beta with FP", o => { o.Mode = TrainingMode.FullPrecision; o.Beta = 2e-3; }, "Mode = FullPrecision" },
        { "Beta < 0", o => o.Beta = -1, "Beta must be" },
        { "StartLearningRateRatio = 0", o => o.StartLearningRateRatio = 0, "StartLearningRateRatio must be in (0, 1]" },
        { "FinalLearningRateRatio > 1", o => o.FinalLearningRateRatio = 2, "FinalLearningRateRatio must be in [0, 1]" },
        { "ratios with a per-epoch schedule", o => { o.StartLearningRateRatio = 0.1; o.Schedule = LearningRateSchedule.Cosine; }, "Schedule = Cosine" },
        { "WeightBits = 1", o => o.WeightBits = 1, "WeightBits must be between 2 and 8" },
        { "ImageHeight without ImageWidth", o => o.ImageHeight = 28, "ImageHeight and ImageWidth go together" },
        { "ImageChannels = 0", o => o.ImageChannels = 0, "ImageChannels must be at least 1" },
        { "Mean per channel", o => { o.ImageChannels = 1; o.Mean = new[] { 0.5f, 0.5f, 0.5f }; }, "Mean has 3 value(s) but ImageChannels = 1" },
        { "VGG depth", o => { o.Architecture = Architecture.Vgg; o.Depth = 12; }, "Depth must be 11, 13, 16 or 19" },
        { "ProgressInterval = 0", o => o.ProgressInterval = 0, "ProgressInterval must be at least 1" },
        { "Score = Prediction", o => o.PredictionColumnName = "Score", "ScoreColumnName and PredictionColumnName are both 'Score'" },
        { "empty FeatureColumnName", o => o.FeatureColumnName = "", "FeatureColumnName must name" },
        { "unknown Device", o => o.Device = "tpu", "Device: Unknown device 'tpu'" },
    };

    [Theory]
    [MemberData(nameof(Invalid))]
    public void InvalidOptionsFailAtConstructionUnderMlNetNames(string name, Action<DefensiveQuantizationEstimator.Options> change, string expected)
    {
        var options = new DefensiveQuantizationEstimator.Options();
        change(options);
        foreach (var create in new Func<DefensiveQuantizationEstimator>[]
                 {
                     () => ml.MulticlassClassification.Trainers.DefensiveQuantize(options),
                     () => ml.DefensiveQuantize(options),
                 })
        {
            var error = Assert.ThrowsAny<ArgumentException>(create);
            Assert.True(error.Message.Contains(expected, StringComparison.Ordinal), $"{name}: '{error.Message}' lacks '{expected}'");
            Assert.DoesNotContain("Epochs", error.Message); // Core's name for MaxEpoch never leaks
        }
    }

    [Fact]
    public void ShortOverloadsValidateToo()
    {
        Assert.Contains("MaxEpoch must be at least 1", Assert.ThrowsAny<ArgumentException>(() => ml.MulticlassClassification.Trainers.DefensiveQuantize(maxEpoch: 0)).Message);
        Assert.Contains("Mode = Vanilla", Assert.ThrowsAny<ArgumentException>(() => ml.DefensiveQuantize(mode: TrainingMode.Vanilla, beta: 1e-3)).Message);
        // Without an explicit β, Vanilla and FP train without the regulariser and DQ with the default β.
        Assert.Null(ml.DefensiveQuantize(mode: TrainingMode.Vanilla).GetOptions().Beta);
    }

    [Fact]
    public void FlatVectorWithoutShapeFailsBeforeAnyRowIsReadAndTheShapeOptionsFixIt()
    {
        var flat = ml.Data.LoadFromEnumerable(VectorData.Rows(DatasetSplit.Train, 64).Select(r => new FlatRow { Features = r.Features, Label = r.Label }));
        var keyed = ml.Transforms.Conversion.MapValueToKey("Label").Fit(flat).Transform(flat);
        var recorder = new Recorder();
        var options = Fast();
        options.Progress = recorder;
        var error = Assert.Throws<ArgumentException>(() => ml.MulticlassClassification.Trainers.DefensiveQuantize(options).Fit(keyed));
        Assert.Contains("'Features' is a flat Vector<Single, 784>", error.Message);
        Assert.Contains("Set ImageChannels, ImageHeight and ImageWidth", error.Message);
        Assert.Empty(recorder.Reports);

        options.ImageChannels = 1;
        options.ImageHeight = 28;
        options.ImageWidth = 28;
        var stage = ml.MulticlassClassification.Trainers.DefensiveQuantize(options).Fit(keyed);
        Assert.Equal((1, 28, 28), (stage.Model.Spec.Channels, stage.Model.Spec.Height, stage.Model.Spec.Width));
    }

    [Fact]
    public void InterleavedPixelsAreRefused()
    {
        var rows = VectorData.Rows(DatasetSplit.Train, 8).Select(r => new InterleavedRow { Features = r.Features.Concat(r.Features).Concat(r.Features).ToArray(), Label = r.Label });
        var view = ml.Data.LoadFromEnumerable(rows);
        var keyed = ml.Transforms.Conversion.MapValueToKey("Label").Fit(view).Transform(view);
        var error = Assert.Throws<ArgumentException>(() => ml.DefensiveQuantize(Fast()).Fit(keyed));
        Assert.Contains("[28, 28, 3]", error.Message);
        Assert.Contains("interleavePixelColors: false", error.Message);
    }

    [Fact]
    public void ChangingTheOptionsAfterConstructionHasNoEffect()
    {
        var used = new Recorder();
        var late = new Recorder();
        var options = Fast(epochs: 1, batchSize: 64);
        options.Progress = used;
        options.Mean = new[] { 0.3f };
        options.Std = new[] { 0.35f };
        var estimator = ml.MulticlassClassification.Trainers.DefensiveQuantize(options);

        options.MaxEpoch = 3;
        options.BatchSize = 16;
        options.Progress = late;
        options.Mean[0] = 0.9f;
        options.FeatureColumnName = "Missing";
        options.Mode = TrainingMode.FullPrecision;
        var copy = estimator.GetOptions();
        copy.MaxEpoch = 7;
        copy.Std![0] = 0.1f;

        Assert.Equal(1, estimator.GetOptions().MaxEpoch);
        Assert.Equal(0.35f, estimator.GetOptions().Std![0]);
        var stage = estimator.Fit(Keyed(256));
        Assert.Empty(late.Reports);
        Assert.All(used.Reports, r => Assert.Equal(1, r.Epochs));
        Assert.Equal(4, used.Reports[^1].Batches); // 256 rows in batches of 64
        Assert.Equal(TrainingMode.Defensive, stage.Model.Spec.Mode);
        Assert.Equal(new[] { 0.3f }, stage.Model.Spec.Mean);
        Assert.Equal(new[] { 0.35f }, stage.Model.Spec.Std);
    }

    [Fact]
    public void CancellationStopsFitAtTheNextBatch()
    {
        const int cancelAfter = 3;
        using var cancellation = new CancellationTokenSource();
        var recorder = new Recorder(r => { if (r.Batch == cancelAfter) cancellation.Cancel(); });
        var options = Fast(epochs: 2, batchSize: 32); // 20 batches per epoch
        options.Progress = recorder;
        options.CancellationToken = cancellation.Token;
        var estimator = ml.MulticlassClassification.Trainers.DefensiveQuantize(options);

        Assert.ThrowsAny<OperationCanceledException>(() => estimator.Fit(Keyed(640)));
        // Every batch reports (ProgressInterval = 1): batches 1..3 ran, and none after the cancel.
        Assert.Equal(Enumerable.Range(1, cancelAfter), recorder.Reports.Select(r => r.Batch));
        Assert.All(recorder.Reports, r => Assert.Equal(1, r.Epoch));

        // An already cancelled token stops Fit before the data is read.
        var before = new Recorder();
        var cancelled = Fast();
        cancelled.Progress = before;
        cancelled.CancellationToken = new CancellationToken(canceled: true);
        Assert.ThrowsAny<OperationCanceledException>(() => ml.DefensiveQuantize(cancelled).Fit(Keyed(64)));
        Assert.Empty(before.Reports);
    }

    [Fact]
    public void LearningRateRatiosDriveThePerStepScheduleAsMlNetsTorchSharpTrainersDo()
    {
        const double rate = 2e-3, start = 0.1, final = 0.4, warmup = 0.25;
        var recorder = new Recorder();
        var options = Fast(epochs: 2, batchSize: 32); // 6 batches per epoch, 12 steps
        options.LearningRate = rate;
        options.StartLearningRateRatio = start;
        options.FinalLearningRateRatio = final;
        options.WarmupRatio = warmup;
        options.Progress = recorder;
        ml.MulticlassClassification.Trainers.DefensiveQuantize(options).Fit(Keyed(192));
        var reported = recorder.Reports.Select(r => r.LearningRate).ToArray();
        Assert.Equal(12, reported.Length);

        // The reference: TorchSharp's OneCycleLR configured as ML.NET's TorchSharp trainers configure it.
        var parameter = new TorchSharp.Modules.Parameter(torch.zeros(1));
        var sgd = torch.optim.SGD(new[] { parameter }, rate);
        var scheduler = torch.optim.lr_scheduler.OneCycleLR(sgd, max_lr: rate, total_steps: 12, pct_start: warmup,
            anneal_strategy: torch.optim.lr_scheduler.impl.OneCycleLR.AnnealStrategy.Linear, cycle_momentum: false,
            div_factor: 1.0 / start, final_div_factor: start / final);
        var expected = new double[12];
        for (int step = 0; step < 12; step++)
        {
            expected[step] = sgd.ParamGroups.First().LearningRate;
            sgd.step();
            scheduler.step();
        }
        for (int step = 0; step < 12; step++) Assert.Equal(expected[step], reported[step], 12);
        Assert.Equal(rate * start, reported[0], 12);
        Assert.Equal(rate, reported.Max(), 12);
        Assert.Equal(rate * final, reported[^1], 12);

        // The defaults (both ratios 1) keep the rate constant, as DqMlNet's recipe does.
        var constant = new Recorder();
        var plain = Fast(epochs: 1, batchSize: 32);
        plain.LearningRate = rate;
        plain.Progress = constant;
        ml.DefensiveQuantize(plain).Fit(Keyed(192));
        Assert.All(constant.Reports, r => Assert.Equal(rate, r.LearningRate));
    }

    public sealed class FlatRow
    {
        [VectorType(784)]
        public float[] Features { get; set; } = Array.Empty<float>();

        public string Label { get; set; } = "";
    }

    public sealed class InterleavedRow
    {
        [VectorType(28, 28, 3)]
        public float[] Features { get; set; } = Array.Empty<float>();

        public string Label { get; set; } = "";
    }
}
