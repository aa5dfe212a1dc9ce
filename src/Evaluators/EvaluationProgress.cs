namespace DqMlNet.Evaluators;

/// <summary>Progress of a robustness evaluation.</summary>
/// <param name="Stage">"clean", an attack name, "amplification" or "masking checks".</param>
/// <param name="Epsilon">ε of the current attack, if any.</param>
/// <param name="Step">Steps done (attack × ε × batch units).</param>
/// <param name="Steps">Total steps.</param>
public sealed record EvaluationProgress(string Stage, double? Epsilon, int Step, int Steps);
