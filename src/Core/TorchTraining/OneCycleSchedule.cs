namespace DqMlNet.TorchTraining;

/// <summary>
/// A per-step learning-rate schedule in two linear phases — the one ML.NET's TorchSharp trainers build from
/// <c>StartLearningRateRatio</c> and <c>FinalLearningRateRatio</c> (TorchSharp's <c>OneCycleLR</c> with linear annealing,
/// <c>div_factor = 1 / StartRatio</c>, <c>final_div_factor = StartRatio / FinalRatio</c>): the rate rises linearly from
/// LearningRate·<see cref="StartRatio"/> to LearningRate over the first <see cref="WarmupRatio"/> of all optimisation
/// steps, then falls linearly to LearningRate·<see cref="FinalRatio"/> at the last step. Momentum is not cycled.
/// </summary>
/// <param name="StartRatio">Rate of the first step as a fraction of the base rate, in (0, 1].</param>
/// <param name="FinalRatio">Rate of the last step as a fraction of the base rate, in [0, 1].</param>
/// <param name="WarmupRatio">Fraction of all steps spent rising to the base rate, in [0, 1].</param>
public sealed record OneCycleSchedule(double StartRatio, double FinalRatio, double WarmupRatio)
{
    /// <summary>Rate of the 0-based <paramref name="step"/> out of <paramref name="totalSteps"/>, for base rate <paramref name="baseRate"/>.</summary>
    public double At(double baseRate, long step, long totalSteps)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(totalSteps, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(step);
        double initial = baseRate * StartRatio, final = baseRate * FinalRatio;
        // Phase boundaries as OneCycleLR places them: the warm-up ends at step WarmupRatio·T − 1, the anneal at T − 1.
        double warmupEnd = WarmupRatio * totalSteps - 1, end = totalSteps - 1;
        if (step <= warmupEnd)
            return Linear(initial, baseRate, warmupEnd > 0 ? step / warmupEnd : 1); // a warm-up of one step ends at the base rate
        return Linear(baseRate, final, end > warmupEnd ? (step - warmupEnd) / (end - warmupEnd) : 1);
    }

    private static double Linear(double from, double to, double fraction) => (to - from) * fraction + from;

    /// <summary>Throws an <see cref="ArgumentOutOfRangeException"/> naming the first ratio out of range.</summary>
    public void Validate()
    {
        if (!(StartRatio > 0 && StartRatio <= 1))
            throw new ArgumentOutOfRangeException(nameof(StartRatio), StartRatio, $"StartRatio must be in (0, 1] (got {StartRatio}).");
        if (!(FinalRatio >= 0 && FinalRatio <= 1))
            throw new ArgumentOutOfRangeException(nameof(FinalRatio), FinalRatio, $"FinalRatio must be in [0, 1] (got {FinalRatio}).");
        if (!(WarmupRatio >= 0 && WarmupRatio <= 1))
            throw new ArgumentOutOfRangeException(nameof(WarmupRatio), WarmupRatio, $"WarmupRatio must be in [0, 1] (got {WarmupRatio}).");
    }
}
