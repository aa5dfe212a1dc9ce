using DqMlNet.Models;
using DqMlNet.TorchTraining;
using DqMlNet.Transforms;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Runtime;
using Microsoft.ML.Transforms.Image;
using static TorchSharp.torch;

namespace DqMlNet.Trainers;

/// <summary>
/// ML.NET estimator that trains a quantized image classifier with Defensive Quantization (or FP / vanilla
/// quantization) on an MLImage or pixel column and a key label, and returns a <see cref="DefensiveQuantizationTransformer"/> that adds
/// the score and predicted-label columns like ML.NET's multiclass trainers. Create it with
/// <c>mlContext.MulticlassClassification.Trainers.DefensiveQuantize(...)</c> or <c>mlContext.DefensiveQuantize(...)</c>.
/// The options are checked and copied when it is created; changing the options object afterwards has no effect.
/// </summary>
public sealed partial class DefensiveQuantizationEstimator : IEstimator<DefensiveQuantizationTransformer>
{
    private readonly MlNetHost ml;
    private readonly Options options;

    /// <summary>Creates the estimator; prefer <c>mlContext.DefensiveQuantize(options)</c>.</summary>
    /// <exception cref="ArgumentException">An option is invalid (the message names it as ML.NET does).</exception>
    public DefensiveQuantizationEstimator(MLContext ml, Options options)
        : this(MlNetHost.Of(ml), options)
    {
    }

    /// <param name="ml">
    /// The caller's context: messages go to its log, and the built-in transforms the stage composes (pixel extraction,
    /// schema propagation, the ONNX stand-ins of Save) run in it.
    /// </param>
    /// <param name="options">The options; copied.</param>
    internal DefensiveQuantizationEstimator(MlNetHost ml, Options options)
    {
        this.ml = ml ?? throw new ArgumentNullException(nameof(ml));
        ArgumentNullException.ThrowIfNull(options);
        OptionsValidation.Validate(options);
        this.options = options.Copy();
    }

    /// <summary>A copy of the options this estimator trains with (changing it does not change the estimator).</summary>
    public Options GetOptions() => options.Copy();

    private DqColumns Columns => new(options.FeatureColumnName, options.ScoreColumnName, options.PredictionColumnName);

    /// <inheritdoc />
    public SchemaShape GetOutputSchema(SchemaShape inputSchema)
    {
        ArgumentNullException.ThrowIfNull(inputSchema);
        var o = options;
        var features = inputSchema.LastOrDefault(c => c.Name == o.FeatureColumnName);
        var label = inputSchema.LastOrDefault(c => c.Name == o.LabelColumnName);
        CheckColumns(features.Name is not null, features.ItemType is ImageDataViewType,
            features.Kind == SchemaShape.Column.VectorKind.Vector && features.ItemType == NumberDataViewType.Single,
            features.Name is null ? "" : $"{features.Kind} of {features.ItemType}",
            label.Name is not null, label.IsKey, label.ItemType?.ToString() ?? "");
        // An MLImage column's type carries its size here; a vector's dimensions are known only at Fit.
        if (features.ItemType is ImageDataViewType image) ImageShape.OfImage(o, image, o.FeatureColumnName);
        // SchemaShape.Column's constructor is internal: let built-in estimators describe the same output columns
        // (a known-size float vector and a key with the label's cardinality).
        return ml.Transforms.Conversion.MapKeyToVector(o.ScoreColumnName, o.LabelColumnName)
            .Append(ml.Transforms.CopyColumns(o.PredictionColumnName, o.LabelColumnName))
            .GetOutputSchema(inputSchema);
    }

    private void CheckColumns(bool hasFeatures, bool isImage, bool isFloatVector, string featureType, bool hasLabel, bool labelIsKey, string labelType)
    {
        var o = options;
        if (!hasFeatures)
            throw new ArgumentException($"Input column '{o.FeatureColumnName}' is missing. DefensiveQuantize expects a Vector<Single> of pixels " +
                                        "(ExtractPixels(scaleImage: 1f / 255)) or an MLImage column; set FeatureColumnName.");
        if (!isImage && !isFloatVector)
            throw new ArgumentException($"Input column '{o.FeatureColumnName}' is {featureType}; DefensiveQuantize expects a known-size " +
                                        "Vector<Single> of pixels in [0, 1] or an MLImage column.");
        if (!hasLabel)
            throw new ArgumentException($"Label column '{o.LabelColumnName}' is missing; set LabelColumnName.");
        if (!labelIsKey)
            throw new ArgumentException($"Label column '{o.LabelColumnName}' is {labelType}, not a key. Add " +
                                        $"mlContext.Transforms.Conversion.MapValueToKey(\"{o.LabelColumnName}\") before DefensiveQuantize.");
    }

    /// <summary>Trains on <paramref name="input"/> and returns the fitted stage.</summary>
    /// <exception cref="OperationCanceledException">The options' <c>CancellationToken</c> was cancelled; no further batch ran.</exception>
    public DefensiveQuantizationTransformer Fit(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var o = options;
        var cancellation = o.CancellationToken;
        cancellation.ThrowIfCancellationRequested();
        var (shape, labels, image) = CheckData(input, "training data");
        if (o.ValidationSet is { } validationSet)
        {
            var (validationShape, validationLabels, _) = CheckData(validationSet, "ValidationSet");
            if (validationShape != shape)
                throw new ArgumentException($"ValidationSet's column '{o.FeatureColumnName}' holds {validationShape} images but the training data's {shape}. " +
                                            "Transform the validation set with the same preprocessing as the training data.", nameof(input));
            if (validationLabels.Count != labels.Count)
                throw new ArgumentException($"ValidationSet's label '{o.LabelColumnName}' is a key with {validationLabels.Count} values but the training " +
                                            $"label has {labels.Count}. Map both with the same fitted MapValueToKey (or the same keyData).", nameof(input));
        }

        using var train = DataViewReader.Read(ml, input, o.FeatureColumnName, o.LabelColumnName, shape.Channels, shape.Height, shape.Width, labels, "training data");
        cancellation.ThrowIfCancellationRequested();
        using var validation = o.ValidationSet is null ? null
            : DataViewReader.Read(ml, o.ValidationSet, o.FeatureColumnName, o.LabelColumnName, shape.Channels, shape.Height, shape.Width, labels, "validation set");
        if (train.Labels.unique().Item1.numel() < 2)
            throw new ArgumentException($"The training data holds a single class in '{o.LabelColumnName}'; a classifier needs at least two.", nameof(input));

        var (mean, std) = (o.Mean, o.Std);
        foreach (var (values, name) in new[] { (mean, nameof(o.Mean)), (std, nameof(o.Std)) })
            if (values is not null && values.Length != shape.Channels)
                throw new ArgumentException($"{name} has {values.Length} value(s) but the images have {shape.Channels} channel(s); give one value per channel.", nameof(input));
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
            Channels = shape.Channels, Height = shape.Height, Width = shape.Width, NumClasses = labels.Count,
            Mean = mean, Std = std, Depth = o.Depth, WidthFactor = o.WidthFactor, BatchNorm = o.BatchNorm,
        };
        var trainerOptions = new DqTrainerOptions
        {
            Epochs = o.MaxEpoch, BatchSize = o.BatchSize, LearningRate = o.LearningRate, WeightDecay = o.WeightDecay,
            Optimizer = o.Optimizer, Schedule = o.Schedule, OneCycle = o.OneCycle, Beta = o.EffectiveBeta, Lipschitz = o.Lipschitz,
            Augment = o.Augment, Adversarial = o.Adversarial, Seed = o.Seed, Threads = o.Threads, Device = o.Device,
            CheckpointDirectory = o.CheckpointDirectory, ProgressInterval = o.ProgressInterval,
        };
        using var log = new TrainingLog(ml.Environment, o.Progress);
        log.Info($"training {spec.Mode} {spec.Architecture} on {train.Count} {shape} images, {labels.Count} classes" +
                 (validation is null ? "" : $", validating on {validation.Count}"));
        var result = new DqTrainer(spec, trainerOptions).Fit(train, validation, log, cancellation);
        return new DefensiveQuantizationTransformer(ml, result.Model, labels, Columns, image);
    }

    /// <summary>Checks a view's columns and returns the image shape, the label's key info and the MLImage column (if it is one).</summary>
    private (ImageShape Shape, DqLabelInfo Labels, DataViewSchema.Column? Image) CheckData(IDataView data, string what)
    {
        var o = options;
        var f = data.Schema.GetColumnOrNull(o.FeatureColumnName);
        var l = data.Schema.GetColumnOrNull(o.LabelColumnName);
        try
        {
            CheckColumns(f is not null, f?.Type is ImageDataViewType,
                f?.Type is VectorDataViewType { IsKnownSize: true } v && v.ItemType == NumberDataViewType.Single, f?.Type.ToString() ?? "",
                l is not null, l?.Type is KeyDataViewType, l?.Type.ToString() ?? "");
            var feature = f!.Value;
            var shape = ImageShape.Resolve(o, feature.Type, o.FeatureColumnName);
            return (shape, DqLabelInfo.FromLabelColumn(l!.Value), feature.Type is ImageDataViewType ? feature : null);
        }
        catch (ArgumentException ex) when (what != "training data")
        {
            throw new ArgumentException($"{what}: {ex.Message}", ex);
        }
    }
}
