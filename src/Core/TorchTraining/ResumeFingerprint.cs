using System.Runtime.InteropServices;
using System.Security.Cryptography;
using DqMlNet.Data;
using static TorchSharp.torch;

namespace DqMlNet.TorchTraining;

/// <summary>
/// What besides the model spec determines a training run's weights, stored in its checkpoint: resuming under any
/// other value would silently continue a different run, so <see cref="DqTrainer"/> refuses and names the field.
/// </summary>
/// <param name="Recipe">The options that determine the weights (optimizer, rates, schedule and its milestones, β, probes, augmentation, adversarial training, seed).</param>
/// <param name="ScheduleEpochs">The epoch count when the learning-rate schedule depends on it (cosine), else null: with a constant or step schedule more epochs only continue the same run.</param>
/// <param name="Data">SHA-256 of the training images (float32 bytes), labels and shape.</param>
internal sealed record ResumeFingerprint(string Recipe, int? ScheduleEpochs, string Data)
{
    public static ResumeFingerprint For(DqTrainerOptions options, ImageDataset train) => new(
        options.RecipeFingerprint(),
        options.Schedule == LearningRateSchedule.Cosine ? options.Epochs : null,
        DataHash(train));

    /// <summary>The first field that differs from <paramref name="other"/>, described for an error message, or null.</summary>
    public string? Difference(ResumeFingerprint other)
    {
        if (Recipe != other.Recipe) return $"the training options differ (checkpoint: {other.Recipe}; now: {Recipe})";
        if (ScheduleEpochs != other.ScheduleEpochs)
            return $"the cosine schedule's epoch count differs (checkpoint: {other.ScheduleEpochs?.ToString() ?? "no cosine schedule"}; now: {ScheduleEpochs?.ToString() ?? "no cosine schedule"})";
        if (Data != other.Data) return $"the training data differ (checkpoint: SHA-256 {other.Data}; now: {Data})";
        return null;
    }

    /// <summary>SHA-256 over the shape, the float32 pixels and the labels, read in chunks (no full copy).</summary>
    public static string DataHash(ImageDataset data)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        hash.AppendData(MemoryMarshal.AsBytes<long>(data.Images.shape.AsSpan()));
        const int chunk = 1024;
        for (int start = 0; start < data.Count; start += chunk)
        {
            int n = Math.Min(chunk, data.Count - start);
            using var images = data.Images.narrow(0, start, n).contiguous();
            hash.AppendData(MemoryMarshal.AsBytes<float>(images.data<float>().ToArray()));
        }
        using (var labels = data.Labels.contiguous())
            hash.AppendData(MemoryMarshal.AsBytes<long>(labels.data<long>().ToArray()));
        return Convert.ToHexString(hash.GetHashAndReset());
    }
}
