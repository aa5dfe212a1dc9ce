namespace DqMlNet.Evaluators;

/// <summary>The files <see cref="RobustnessReportWriter"/> wrote.</summary>
/// <param name="Json">The JSON report.</param>
/// <param name="Markdown">The Markdown summary.</param>
public sealed record RobustnessReportFiles(string Json, string Markdown);
