using DqMlNet.Models;
using Microsoft.ML;

namespace DqMlNet.Trainers;

/// <summary>Catalog entry points: <c>mlContext.DefensiveQuantize(...)</c> and <c>mlContext.MulticlassClassification.Trainers.DefensiveQuantize(...)</c>.</summary>
public static class DefensiveQuantizationCatalog
{
    /// <summary>Trains a DQ (or FP/VQ) image classifier with the given options.</summary>
    public static DefensiveQuantizationEstimator DefensiveQuantize(this MLContext mlContext, DefensiveQuantizationEstimator.Options options) =>
        new(mlContext, options);

    /// <summary>Trains a DQ image classifier with the common parameters.</summary>
    /// <param name="mlContext">The ML.NET context.</param>
    /// <param name="labelColumnName">Key-typed label column.</param>
    /// <param name="featureColumnName">Pixels (Vector&lt;Single&gt; of C·H·W in [0, 1]) or an MLImage column.</param>
    /// <param name="activationBits">Activation bits k.</param>
    /// <param name="beta">Lipschitz regularisation strength β.</param>
    /// <param name="maxEpoch">Training epochs.</param>
    /// <param name="imageChannels">Image channels.</param>
    /// <param name="imageHeight">Image height.</param>
    /// <param name="imageWidth">Image width.</param>
    /// <param name="mode">FP, VQ or DQ (default DQ).</param>
    public static DefensiveQuantizationEstimator DefensiveQuantize(this MLContext mlContext, string labelColumnName = "Label",
        string featureColumnName = "Features", int activationBits = 4, double beta = 2e-3, int maxEpoch = 2,
        int imageChannels = 1, int imageHeight = 28, int imageWidth = 28, TrainingMode mode = TrainingMode.Defensive) =>
        new(mlContext, new DefensiveQuantizationEstimator.Options
        {
            LabelColumnName = labelColumnName, FeatureColumnName = featureColumnName, ActivationBits = activationBits, Beta = beta,
            MaxEpoch = maxEpoch, ImageChannels = imageChannels, ImageHeight = imageHeight, ImageWidth = imageWidth, Mode = mode,
        });
}
