using DqMlNet.Data;
using DqMlNet.Lipschitz;
using DqMlNet.Models;
using DqMlNet.Training;
using DqMlNet.Transforms;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.TorchSharp;
using Microsoft.ML.Transforms.Image;
using static TorchSharp.torch;

namespace DqMlNet.Trainers;

/// <summary>
/// ML.NET estimator that trains a quantized image classifier with Defensive Quantization (or FP / vanilla
/// quantization) on a pixel or MLImage column and a key label, and returns a <see cref="DqTransformer"/> that adds
/// <c>Score</c> and <c>PredictedLabel</c> like ML.NET's multiclass trainers. Create it with
/// <c>mlContext.DefensiveQuantize(...)</c>.
/// </summary>
public sealed class DefensiveQuantizationEstimator : IEstimator<DqTransformer>
{
    /// <summary>Options, following ML.NET's trainer conventions (<see cref="TorchSharpBaseTrainer.Options"/> fields plus DQ's own).</summary>
    public sealed class Options : TorchSharpBaseTrainer.Options
    {
        /// <summary>Creates options with DqMlNet's defaults (DQ-4, β = 2e-3, Adam 1e-3, batch 128, 2 epochs, 28×28×1 SmallCnn).</summary>
        public Options()
        {
            LabelColumnName = "Label";
            ScoreColumnName = "Score";
            PredictionColumnName = "PredictedLabel";
            BatchSize = 128;
            MaxEpoch = 2;
            WeightDecay = 0;
        }

        /// <summary>Input column: Vector&lt;Single&gt; of C·H·W pixels in [0, 1] (channel-major) or an MLImage column.</summary>
        public string FeatureColumnName = "Features";

        /// <summary>FP, VQ (vanilla quantization) or DQ (quantization + Lipschitz regulariser).</summary>
        public TrainingMode Mode = TrainingMode.Defensive;

        /// <summary>Network family.</summary>
        public Architecture Architecture = Architecture.SmallCnn;

        /// <summary>Activation bits k (1..8) for VQ/DQ.</summary>
        public int ActivationBits = 4;

        /// <summary>Weight bits for weight fake quantization (2..8), or null for float weights (the paper's setting).</summary>
        public int? WeightBits;

        /// <summary>Lipschitz regularisation strength β (DQ only).</summary>
        public double Beta = 2e-3;

        /// <summary>Which layers the regulariser constrains.</summary>
        public LipschitzOptions Lipschitz = new();

        /// <summary>Image channels C.</summary>
        public int ImageChannels = 1;

        /// <summary>Image height H.</summary>
        public int ImageHeight = 28;

        /// <summary>Image width W.</summary>
        public int ImageWidth = 28;

        /// <summary>Per-channel normalisation mean (pixel scale); null computes it from the training data.</summary>
        public float[]? Mean;

        /// <summary>Per-channel normalisation std (pixel scale); null computes it from the training data.</summary>
        public float[]? Std;

        /// <summary>VGG depth (11/13/16/19) or WRN depth (6n + 4).</summary>
        public int Depth = 16;

        /// <summary>VGG width multiplier or WRN widen factor.</summary>
        public double WidthFactor = 1;

        /// <summary>BatchNorm in SmallCnn.</summary>
        public bool BatchNorm;

        /// <summary>Base learning rate.</summary>
        public double LearningRate = 1e-3;

        /// <summary>Optimizer.</summary>
        public OptimizerKind Optimizer = OptimizerKind.Adam;

        /// <summary>Learning-rate schedule.</summary>
        public LearningRateSchedule Schedule = LearningRateSchedule.Constant;

        /// <summary>Random crop + flip augmentation.</summary>
        public bool Augment;

        /// <summary>Adversarial training (null: none).</summary>
        public AdversarialTraining? Adversarial;

        /// <summary>Seed of initialisation, shuffling and augmentation.</summary>
        public int Seed;

        /// <summary>"cpu", "cuda" or "cuda:N".</summary>
        public string Device = "cpu";

        /// <summary>LibTorch threads (process-wide); null keeps the current setting.</summary>
        public int? Threads;

        /// <summary>Receives per-batch and per-epoch progress.</summary>
        public IProgress<TrainingProgress>? Progress;

        /// <summary>Folder for per-epoch checkpoints (resume after interruption); null: none.</summary>
        public string? CheckpointDirectory;
    }

    private readonly MLContext ml;

    /// <summary>Creates the estimator; prefer <c>mlContext.DefensiveQuantize(options)</c>.</summary>
    public DefensiveQuantizationEstimator(MLContext ml, Options options)
    {
        this.ml = ml ?? throw new ArgumentNullException(nameof(ml));
        TrainerOptions = options ?? throw new ArgumentNullException(nameof(options));
        if (string.IsNullOrWhiteSpace(options.FeatureColumnName)) throw new ArgumentException("FeatureColumnName must name the image column.", nameof(options));
        if (string.IsNullOrWhiteSpace(options.LabelColumnName)) throw new ArgumentException("LabelColumnName must name the key label column.", nameof(options));
    }

    /// <summary>The options this estimator trains with.</summary>
    public Options TrainerOptions { get; }

    private DqColumns Columns => new(TrainerOptions.FeatureColumnName, TrainerOptions.ScoreColumnName, TrainerOptions.PredictionColumnName);

    /// <inheritdoc />
    public SchemaShape GetOutputSchema(SchemaShape inputSchema)
    {
        ArgumentNullException.ThrowIfNull(inputSchema);
        var o = TrainerOptions;
        var features = inputSchema.LastOrDefault(c => c.Name == o.FeatureColumnName);
        var label = inputSchema.LastOrDefault(c => c.Name == o.LabelColumnName);
        CheckColumns(features.Name is not null, features.ItemType is ImageDataViewType,
            features.Kind == SchemaShape.Column.VectorKind.Vector && features.ItemType == NumberDataViewType.Single,
            features.Name is null ? "" : $"{features.Kind} of {features.ItemType}",
            label.Name is not null, label.IsKey, label.ItemType?.ToString() ?? "");
        // SchemaShape.Column's constructor is internal: let built-in estimators describe the same output columns
        // (a known-size float vector and a key with the label's cardinality).
        return ml.Transforms.Conversion.MapKeyToVector(o.ScoreColumnName, o.LabelColumnName)
            .Append(ml.Transforms.CopyColumns(o.PredictionColumnName, o.LabelColumnName))
            .GetOutputSchema(inputSchema);
    }

    private void CheckColumns(bool hasFeatures, bool isImage, bool isFloatVector, string featureType, bool hasLabel, bool labelIsKey, string labelType)
    {
        var o = TrainerOptions;
        if (!hasFeatures)
            throw new ArgumentException($"Input column '{o.FeatureColumnName}' is missing. DefensiveQuantize expects Vector<Single, {Pixels}> " +
                                        "(ExtractPixels(scaleImage: 1f / 255)) or an MLImage column; set FeatureColumnName.");
        if (!isImage && !isFloatVector)
            throw new ArgumentException($"Input column '{o.FeatureColumnName}' is {featureType}; DefensiveQuantize expects a known-size " +
                                        $"Vector<Single, {Pixels}> of pixels in [0, 1] or an MLImage column.");
        if (!hasLabel)
            throw new ArgumentException($"Label column '{o.LabelColumnName}' is missing; set LabelColumnName.");
        if (!labelIsKey)
            throw new ArgumentException($"Label column '{o.LabelColumnName}' is {labelType}, not a key. Add " +
                                        $"mlContext.Transforms.Conversion.MapValueToKey(\"{o.LabelColumnName}\") before DefensiveQuantize.");
    }

    private int Pixels => TrainerOptions.ImageChannels * TrainerOptions.ImageHeight * TrainerOptions.ImageWidth;

    /// <summary>Trains on <paramref name="input"/> and returns the fitted stage.</summary>
    public DqTransformer Fit(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var o = TrainerOptions;
        var f = input.Schema.GetColumnOrNull(o.FeatureColumnName);
        var l = input.Schema.GetColumnOrNull(o.LabelColumnName);
        CheckColumns(f is not null, f?.Type is ImageDataViewType,
            f?.Type is VectorDataViewType { IsKnownSize: true } v && v.ItemType == NumberDataViewType.Single, f?.Type.ToString() ?? "",
            l is not null, l?.Type is KeyDataViewType, l?.Type.ToString() ?? "");
        var labelColumn = input.Schema[o.LabelColumnName];
        var labels = DqLabelInfo.FromLabelColumn(labelColumn);
        var featureColumn = input.Schema[o.FeatureColumnName];
        var image = featureColumn.Type is ImageDataViewType ? featureColumn : (DataViewSchema.Column?)null;
        if (featureColumn.Type is VectorDataViewType vector && vector.Size != Pixels)
            throw new ArgumentException(
                $"Input column '{o.FeatureColumnName}' has {vector.Size} values per row but ImageChannels×ImageHeight×ImageWidth = " +
                $"{o.ImageChannels}×{o.ImageHeight}×{o.ImageWidth} = {Pixels}. Set the image shape options to match the data.", nameof(input));

        using var train = DataViewReader.Read(ml, input, o.FeatureColumnName, o.LabelColumnName, o.ImageChannels, o.ImageHeight, o.ImageWidth, labels, "training data");
        using var validation = o.ValidationSet is null ? null
            : DataViewReader.Read(ml, o.ValidationSet, o.FeatureColumnName, o.LabelColumnName, o.ImageChannels, o.ImageHeight, o.ImageWidth, labels, "validation set");
        if (train.Labels.unique().Item1.numel() < 2)
            throw new ArgumentException($"The training data holds a single class in '{o.LabelColumnName}'; a classifier needs at least two.", nameof(input));

        var (mean, std) = (o.Mean, o.Std);
        if (mean is null || std is null)
        {
            using var scope = NewDisposeScope();
            var perChannel = train.Images.transpose(0, 1).flatten(1);
            mean ??= perChannel.mean(new long[] { 1 }).data<float>().ToArray();
            std ??= perChannel.std(1).clamp_min(1e-3).data<float>().ToArray();
        }
        var spec = new ModelSpec
        {
            Architecture = o.Architecture, Mode = o.Mode, ActivationBits = o.ActivationBits, WeightBits = o.WeightBits,
            Channels = o.ImageChannels, Height = o.ImageHeight, Width = o.ImageWidth, NumClasses = labels.Count,
            Mean = mean, Std = std, Depth = o.Depth, WidthFactor = o.WidthFactor, BatchNorm = o.BatchNorm,
        };
        var trainerOptions = new DqTrainerOptions
        {
            Epochs = o.MaxEpoch, BatchSize = o.BatchSize, LearningRate = o.LearningRate, WeightDecay = o.WeightDecay,
            Optimizer = o.Optimizer, Schedule = o.Schedule, Beta = o.Mode == TrainingMode.Defensive ? o.Beta : 0, Lipschitz = o.Lipschitz,
            Augment = o.Augment, Adversarial = o.Adversarial, Seed = o.Seed, Threads = o.Threads, Device = o.Device,
            CheckpointDirectory = o.CheckpointDirectory,
        };
        var log = new ChannelProgress(ml, o.Progress);
        var result = new DqTrainer(spec, trainerOptions).Fit(train, validation, log);
        return new DqTransformer(ml, result.Model, labels, Columns, image);
    }

    /// <summary>Forwards progress to the caller's <see cref="IProgress{T}"/> and to ML.NET's log.</summary>
    private sealed class ChannelProgress(MLContext ml, IProgress<TrainingProgress>? user) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value)
        {
            user?.Report(value);
            if (!value.IsEpochEnd) return;
            using var channel = ((Microsoft.ML.Runtime.IHostEnvironment)ml).Register(nameof(DefensiveQuantizationEstimator)).Start("Training");
            channel.Info(Microsoft.ML.Runtime.MessageSensitivity.None, 
                    $"epoch {value.Epoch}/{value.Epochs}: CE {value.CrossEntropy:F4}, regulariser {value.Regularizer:F4}, train accuracy {value.TrainAccuracy:P2}" +
                    (value.ValidationAccuracy is double v ? $", validation accuracy {v:P2}" : "") + $", {value.ImagesPerSecond:F0} images/s");
        }
    }
}
