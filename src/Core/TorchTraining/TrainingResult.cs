using DqMlNet.Models;

namespace DqMlNet.TorchTraining;

/// <summary>A trained model and the per-epoch history of its training (including epochs restored from a checkpoint).</summary>
public sealed record TrainingResult(DqModel Model, IReadOnlyList<EpochSummary> History);
