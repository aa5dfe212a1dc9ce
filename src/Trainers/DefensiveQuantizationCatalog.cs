using DqMlNet.Models;
using Microsoft.ML;
using DqMlNet.Trainers;
using DqMlNet.Transforms;

// Catalog extensions live in Microsoft.ML, as ML.NET's own add-on packages put theirs: `using Microsoft.ML;` is all a
// pipeline needs to find them.
namespace Microsoft.ML;

/// <summary>
/// Catalog entry points, shaped like ML.NET's <c>ImageClassification</c> trainer:
/// <c>mlContext.MulticlassClassification.Trainers.DefensiveQuantize(...)</c> and the shorthand
/// <c>mlContext.DefensiveQuantize(...)</c>; all of them build the same <see cref="DefensiveQuantizationEstimator"/>.
/// </summary>
public static class DefensiveQuantizationCatalog
{
    /// <summary>Trains a DQ (or FP/VQ) image classifier with the given options.</summary>
    /// <param name="catalog">The multiclass trainers catalog.</param>
    /// <param name="options">The options (checked and copied now).</param>
    public static DefensiveQuantizationEstimator DefensiveQuantize(this MulticlassClassificationCatalog.MulticlassClassificationTrainers catalog,
        DefensiveQuantizationEstimator.Options options) =>
        new(MlNetHost.Of(catalog, "mlContext.MulticlassClassification.Trainers.DefensiveQuantize"), options);

    /// <summary>Trains a DQ (or FP/VQ) image classifier with the common parameters.</summary>
    /// <param name="catalog">The multiclass trainers catalog.</param>
    /// <param name="labelColumnName">Key-typed label column.</param>
    /// <param name="featureColumnName">An MLImage column of fixed size, or a Vector&lt;Single&gt; of planar pixels in [0, 1].</param>
    /// <param name="scoreColumnName">Output column of class probabilities.</param>
    /// <param name="predictedLabelColumnName">Output column of the predicted key.</param>
    /// <param name="validationSet">Data transformed like the training data, scored after every epoch (null: none).</param>
    /// <param name="mode">FP, VQ or DQ.</param>
    /// <param name="activationBits">Activation bits k (VQ/DQ).</param>
    /// <param name="beta">Lipschitz regularisation strength β (DQ only); null: 2e-3 in DQ mode.</param>
    /// <param name="maxEpoch">Training epochs.</param>
    /// <param name="batchSize">Images per optimisation step.</param>
    /// <param name="imageChannels">Image channels; null: from the feature column (3 for an MLImage).</param>
    /// <param name="imageHeight">Image height; null: from the feature column.</param>
    /// <param name="imageWidth">Image width; null: from the feature column.</param>
    public static DefensiveQuantizationEstimator DefensiveQuantize(this MulticlassClassificationCatalog.MulticlassClassificationTrainers catalog,
        string labelColumnName = "Label", string featureColumnName = "Features", string scoreColumnName = "Score",
        string predictedLabelColumnName = "PredictedLabel", IDataView? validationSet = null, TrainingMode mode = TrainingMode.Defensive,
        int activationBits = 4, double? beta = null, int maxEpoch = 2, int batchSize = 128, int? imageChannels = null, int? imageHeight = null,
        int? imageWidth = null) =>
        catalog.DefensiveQuantize(Short(labelColumnName, featureColumnName, scoreColumnName, predictedLabelColumnName, validationSet, mode,
            activationBits, beta, maxEpoch, batchSize, imageChannels, imageHeight, imageWidth));

    /// <summary>Shorthand for <c>mlContext.MulticlassClassification.Trainers.DefensiveQuantize(options)</c>.</summary>
    /// <param name="mlContext">The ML.NET context.</param>
    /// <param name="options">The options (checked and copied now).</param>
    public static DefensiveQuantizationEstimator DefensiveQuantize(this MLContext mlContext, DefensiveQuantizationEstimator.Options options) =>
        new(mlContext, options);

    /// <summary>Shorthand for <c>mlContext.MulticlassClassification.Trainers.DefensiveQuantize(...)</c> with the common parameters.</summary>
    /// <param name="mlContext">The ML.NET context.</param>
    /// <param name="labelColumnName">Key-typed label column.</param>
    /// <param name="featureColumnName">An MLImage column of fixed size, or a Vector&lt;Single&gt; of planar pixels in [0, 1].</param>
    /// <param name="scoreColumnName">Output column of class probabilities.</param>
    /// <param name="predictedLabelColumnName">Output column of the predicted key.</param>
    /// <param name="validationSet">Data transformed like the training data, scored after every epoch (null: none).</param>
    /// <param name="mode">FP, VQ or DQ.</param>
    /// <param name="activationBits">Activation bits k (VQ/DQ).</param>
    /// <param name="beta">Lipschitz regularisation strength β (DQ only); null: 2e-3 in DQ mode.</param>
    /// <param name="maxEpoch">Training epochs.</param>
    /// <param name="batchSize">Images per optimisation step.</param>
    /// <param name="imageChannels">Image channels; null: from the feature column (3 for an MLImage).</param>
    /// <param name="imageHeight">Image height; null: from the feature column.</param>
    /// <param name="imageWidth">Image width; null: from the feature column.</param>
    public static DefensiveQuantizationEstimator DefensiveQuantize(this MLContext mlContext, string labelColumnName = "Label",
        string featureColumnName = "Features", string scoreColumnName = "Score", string predictedLabelColumnName = "PredictedLabel",
        IDataView? validationSet = null, TrainingMode mode = TrainingMode.Defensive, int activationBits = 4, double? beta = null, int maxEpoch = 2,
        int batchSize = 128, int? imageChannels = null, int? imageHeight = null, int? imageWidth = null) =>
        new(mlContext, Short(labelColumnName, featureColumnName, scoreColumnName, predictedLabelColumnName, validationSet, mode,
            activationBits, beta, maxEpoch, batchSize, imageChannels, imageHeight, imageWidth));

    private static DefensiveQuantizationEstimator.Options Short(string label, string features, string score, string predicted, IDataView? validationSet,
        TrainingMode mode, int activationBits, double? beta, int maxEpoch, int batchSize, int? channels, int? height, int? width) => new()
    {
        LabelColumnName = label, FeatureColumnName = features, ScoreColumnName = score, PredictionColumnName = predicted,
        ValidationSet = validationSet, Mode = mode, ActivationBits = activationBits, Beta = beta, MaxEpoch = maxEpoch, BatchSize = batchSize,
        ImageChannels = channels, ImageHeight = height, ImageWidth = width,
    };
}
