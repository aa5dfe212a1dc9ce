using DqMlNet.TorchTraining;
using Microsoft.ML.Runtime;

namespace DqMlNet.Trainers;

/// <summary>
/// Forwards training progress to the caller's <see cref="IProgress{T}"/> and writes one line per epoch (with the
/// validation accuracy when a validation set is given) to ML.NET's log, where <c>mlContext.Log</c> receives it.
/// </summary>
internal sealed class TrainingLog : IProgress<TrainingProgress>, IDisposable
{
    private readonly IChannel channel;
    private readonly IProgress<TrainingProgress>? user;

    public TrainingLog(IHostEnvironment environment, IProgress<TrainingProgress>? user)
    {
        channel = environment.Register(nameof(DefensiveQuantizationEstimator)).Start("Training");
        this.user = user;
    }

    public void Info(string message) => channel.Info(MessageSensitivity.None, message);

    public void Report(TrainingProgress value)
    {
        user?.Report(value);
        if (!value.IsEpochEnd) return;
        Info($"epoch {value.Epoch}/{value.Epochs}: CE {value.CrossEntropy:F4}, regulariser {value.Regularizer:F4}, train accuracy {value.TrainAccuracy:P2}" +
             (value.ValidationAccuracy is double v ? $", validation accuracy {v:P2}" : "") +
             $", learning rate {value.LearningRate:G4}, {value.ImagesPerSecond:F0} images/s");
    }

    public void Dispose() => channel.Dispose();
}
