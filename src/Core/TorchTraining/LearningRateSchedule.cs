namespace DqMlNet.TorchTraining;

/// <summary>Learning-rate schedules, evaluated once per epoch.</summary>
public enum LearningRateSchedule
{
    /// <summary>The base rate throughout.</summary>
    Constant,

    /// <summary>Multiply by <see cref="DqTrainerOptions.StepGamma"/> at each milestone epoch (paper: ×0.2 at 60/120/160 of 200).</summary>
    Step,

    /// <summary>Cosine annealing from the base rate to 0 over <see cref="DqTrainerOptions.Epochs"/>.</summary>
    Cosine,
}

/// <summary>Computes the learning rate of an epoch.</summary>
public static class LearningRates
{
    /// <summary>Learning rate for the 0-based <paramref name="epoch"/>.</summary>
    public static double At(DqTrainerOptions options, int epoch) => options.Schedule switch
    {
        LearningRateSchedule.Constant => options.LearningRate,
        LearningRateSchedule.Step => options.LearningRate * Math.Pow(options.StepGamma, options.StepMilestones.Count(m => epoch >= m)),
        LearningRateSchedule.Cosine => options.LearningRate * 0.5 * (1 + Math.Cos(Math.PI * epoch / options.Epochs)),
        _ => throw new ArgumentOutOfRangeException(nameof(options), options.Schedule, "Unknown learning-rate schedule."),
    };
}
