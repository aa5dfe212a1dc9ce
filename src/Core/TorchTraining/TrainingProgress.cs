namespace DqMlNet.TorchTraining;

/// <summary>A progress report: running means over the current epoch so far.</summary>
/// <param name="Epoch">1-based epoch.</param>
/// <param name="Epochs">Total epochs.</param>
/// <param name="Batch">1-based batch within the epoch.</param>
/// <param name="Batches">Batches per epoch.</param>
/// <param name="CrossEntropy">Mean cross-entropy so far this epoch.</param>
/// <param name="Regularizer">Mean (β/2)·Σ‖G − I‖² so far this epoch (0 without DQ).</param>
/// <param name="TrainAccuracy">Training accuracy so far this epoch (on augmented batches, in train mode).</param>
/// <param name="ImagesPerSecond">Training throughput this epoch.</param>
/// <param name="LearningRate">Learning rate of this epoch.</param>
/// <param name="ValidationAccuracy">Validation accuracy, at the end of an epoch when a validation set is given.</param>
public sealed record TrainingProgress(
    int Epoch, int Epochs, int Batch, int Batches, double CrossEntropy, double Regularizer, double TrainAccuracy,
    double ImagesPerSecond, double LearningRate, double? ValidationAccuracy = null)
{
    /// <summary>True for the report that closes an epoch.</summary>
    public bool IsEpochEnd => Batch == Batches;
}

/// <summary>Statistics of one finished epoch.</summary>
public sealed record EpochSummary(
    int Epoch, double CrossEntropy, double Regularizer, double TrainAccuracy, double? ValidationAccuracy,
    double LearningRate, double Seconds, double ImagesPerSecond);
