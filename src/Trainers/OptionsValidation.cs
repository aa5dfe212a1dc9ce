using DqMlNet.Models;
using DqMlNet.Quantization;
using DqMlNet.Runtime;
using DqMlNet.TorchTraining;

namespace DqMlNet.Trainers;

/// <summary>
/// Checks <see cref="DefensiveQuantizationEstimator.Options"/> when the estimator is created, under the names the user
/// typed (MaxEpoch, not the Core trainer's Epochs), so a bad value fails where it was written rather than minutes
/// later inside Fit.
/// </summary>
internal static class OptionsValidation
{
    public static void Validate(DefensiveQuantizationEstimator.Options o)
    {
        ArgumentNullException.ThrowIfNull(o);
        Name(o.LabelColumnName, nameof(o.LabelColumnName), "the key label column");
        Name(o.FeatureColumnName, nameof(o.FeatureColumnName), "the image or pixel column");
        Name(o.ScoreColumnName, nameof(o.ScoreColumnName), "the output score column");
        Name(o.PredictionColumnName, nameof(o.PredictionColumnName), "the output predicted-label column");
        if (o.ScoreColumnName == o.PredictionColumnName)
            throw new ArgumentException($"ScoreColumnName and PredictionColumnName are both '{o.ScoreColumnName}'; the stage writes two columns and needs two names.", "options");

        Check(o.MaxEpoch >= 1, nameof(o.MaxEpoch), o.MaxEpoch, "must be at least 1");
        Check(o.BatchSize >= 1, nameof(o.BatchSize), o.BatchSize, "must be at least 1");
        Check(o.LearningRate > 0 && double.IsFinite(o.LearningRate), nameof(o.LearningRate), o.LearningRate, "must be a finite positive number");
        Check(o.WeightDecay >= 0 && double.IsFinite(o.WeightDecay), nameof(o.WeightDecay), o.WeightDecay, "must be a finite number ≥ 0");
        Check(o.StartLearningRateRatio > 0 && o.StartLearningRateRatio <= 1, nameof(o.StartLearningRateRatio), o.StartLearningRateRatio,
            "must be in (0, 1]: the first step's rate is LearningRate × StartLearningRateRatio");
        Check(o.FinalLearningRateRatio >= 0 && o.FinalLearningRateRatio <= 1, nameof(o.FinalLearningRateRatio), o.FinalLearningRateRatio,
            "must be in [0, 1]: the last step's rate is LearningRate × FinalLearningRateRatio");
        Check(o.WarmupRatio >= 0 && o.WarmupRatio <= 1, nameof(o.WarmupRatio), o.WarmupRatio, "must be in [0, 1]");
        if (o.OneCycle is not null && o.Schedule != LearningRateSchedule.Constant)
            throw new ArgumentException(
                $"StartLearningRateRatio/FinalLearningRateRatio ({o.StartLearningRateRatio}/{o.FinalLearningRateRatio}) define a per-step schedule, " +
                $"and Schedule = {o.Schedule} a per-epoch one; use one of them (Schedule = Constant, or both ratios = 1).", "options");
        Check(o.ProgressInterval >= 1, nameof(o.ProgressInterval), o.ProgressInterval, "must be at least 1");

        if (o.Mode != TrainingMode.FullPrecision)
            Check(o.ActivationBits >= ActivationQuantizer.MinBits && o.ActivationBits <= ActivationQuantizer.MaxBits, nameof(o.ActivationBits), o.ActivationBits,
                $"must be between {ActivationQuantizer.MinBits} and {ActivationQuantizer.MaxBits} (the paper uses 1 to 5); use Mode = FullPrecision for float activations");
        if (o.WeightBits is int wb)
            Check(wb >= WeightQuantizer.MinBits && wb <= WeightQuantizer.MaxBits, nameof(o.WeightBits), wb,
                $"must be between {WeightQuantizer.MinBits} and {WeightQuantizer.MaxBits}, or null for float weights");
        if (o.Beta is double beta)
        {
            Check(beta >= 0 && double.IsFinite(beta), nameof(o.Beta), beta, "must be a finite number ≥ 0 (the paper's range is about 3e-4 to 2e-3)");
            if (beta > 0 && o.Mode != TrainingMode.Defensive)
                throw new ArgumentException(
                    $"Beta = {beta} is the Lipschitz regulariser of Defensive mode, but Mode = {o.Mode}. Set Mode = TrainingMode.Defensive, " +
                    "or leave Beta null (or 0).", "options");
        }

        if (o.ImageChannels is int c) Check(c >= 1, nameof(o.ImageChannels), c, "must be at least 1 (or null: from the feature column)");
        if (o.ImageHeight is int h) Check(h >= 1, nameof(o.ImageHeight), h, "must be at least 1 (or null: from the feature column)");
        if (o.ImageWidth is int w) Check(w >= 1, nameof(o.ImageWidth), w, "must be at least 1 (or null: from the feature column)");
        if (o.ImageHeight.HasValue != o.ImageWidth.HasValue)
            throw new ArgumentException("ImageHeight and ImageWidth go together: set both, or neither (then they come from the feature column).", "options");
        if (o.Mean is { } mean && o.Std is { } std && mean.Length != std.Length)
            throw new ArgumentException($"Mean has {mean.Length} value(s) and Std {std.Length}; both need one value per image channel.", "options");
        if (o.ImageChannels is int channels)
            foreach (var (values, name) in new[] { (o.Mean, nameof(o.Mean)), (o.Std, nameof(o.Std)) })
                if (values is not null && values.Length != channels)
                    throw new ArgumentException($"{name} has {values.Length} value(s) but ImageChannels = {channels}; give one value per channel (or null: from the training data).", "options");
        if (o.Std is { } s && s.Any(v => !(v > 0)))
            throw new ArgumentException("Every Std value must be positive.", "options");

        switch (o.Architecture)
        {
            case Architecture.Vgg when o.Depth is not (11 or 13 or 16 or 19):
                throw new ArgumentOutOfRangeException(nameof(o.Depth), o.Depth, $"Depth must be 11, 13, 16 or 19 for VGG (got {o.Depth}).");
            case Architecture.WideResNet when o.Depth < 10 || (o.Depth - 4) % 6 != 0:
                throw new ArgumentOutOfRangeException(nameof(o.Depth), o.Depth, $"Depth must be 6n + 4 with n ≥ 1 for a Wide ResNet, e.g. 16 or 28 (got {o.Depth}).");
        }
        if (o.Architecture != Architecture.SmallCnn)
            Check(o.WidthFactor > 0 && double.IsFinite(o.WidthFactor), nameof(o.WidthFactor), o.WidthFactor, "must be a finite positive number");
        if (o.Threads is int t) Check(t >= 1, nameof(o.Threads), t, "must be at least 1 (or null: keep the current setting)");
        try
        {
            TorchRuntime.ParseDevice(o.Device);
        }
        catch (ArgumentException ex)
        {
            throw new ArgumentException($"Device: {ex.Message}", "options", ex);
        }
        o.Adversarial?.Validate();
    }

    private static void Check(bool ok, string name, object value, string rule)
    {
        if (!ok) throw new ArgumentOutOfRangeException(name, value, $"{name} {rule} (got {value}).");
    }

    private static void Name(string? value, string name, string what)
    {
        if (string.IsNullOrWhiteSpace(value)) throw new ArgumentException($"{name} must name {what}.", "options");
    }
}
