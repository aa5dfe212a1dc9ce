using Microsoft.ML.Data;

namespace DqMlNet.Evaluators;

/// <summary>
/// Robustness next to accuracy: ML.NET's clean multiclass metrics and the robustness report of the same data. Plain
/// data, like <see cref="MulticlassClassificationMetrics"/>; <see cref="RobustnessReportWriter"/> writes it to files.
/// </summary>
/// <param name="Clean">The usual metrics of the clean data (as <c>MulticlassClassification.Evaluate</c> returns them).</param>
/// <param name="Report">Per-attack robust accuracy, worst case, error amplification, spectral norms, warnings.</param>
public sealed record RobustnessMetrics(MulticlassClassificationMetrics Clean, RobustnessReport Report)
{
    /// <summary>Robust accuracy of an attack at ε, or null.</summary>
    public double? RobustAccuracy(string attack, double epsilon) => Report.RobustAccuracy(attack, epsilon);

    /// <summary>Worst case over the suite at ε, or null.</summary>
    public double? WorstCaseAccuracy(double epsilon) => Report.WorstCaseAccuracy(epsilon);
}
