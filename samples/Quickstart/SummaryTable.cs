using System.Globalization;
using System.Text;
using DqMlNet.Evaluators;

namespace DqMlNet.Samples.Quickstart;

/// <summary>The comparison table (rows = metrics, columns = models, last column DQ-4 − VQ-4) and summary.md.</summary>
internal static class SummaryTable
{
    internal sealed record Table(IReadOnlyList<string> Header, IReadOnlyList<IReadOnlyList<string>> Rows);

    private static readonly CultureInfo C = CultureInfo.InvariantCulture;

    public static Table Build(IReadOnlyList<ModelRun> runs, QuickstartOptions options, int testCount, int evalCount)
    {
        var header = new List<string> { "metric" };
        header.AddRange(runs.Select(r => r.Label));
        var vq = runs.FirstOrDefault(r => r.Name == "vq4");
        var dq = runs.FirstOrDefault(r => r.Name == "dq4");
        bool delta = vq is not null && dq is not null;
        if (delta) header.Add("DQ−VQ (points)");
        var rows = new List<IReadOnlyList<string>>();

        void Accuracy(string name, Func<ModelRun, double?> value)
        {
            var row = new List<string> { name };
            row.AddRange(runs.Select(r => Pct(value(r))));
            if (delta) row.Add(value(dq!) is double d && value(vq!) is double v ? (100 * (d - v)).ToString("+0.0;−0.0;0.0", C) : "");
            rows.Add(row);
        }

        void Other(string name, Func<ModelRun, string> value)
        {
            var row = new List<string> { name };
            row.AddRange(runs.Select(value));
            if (delta) row.Add("");
            rows.Add(row);
        }

        string pgd = $"PGD-{options.PgdSteps}";
        Accuracy($"clean ({testCount} test images)", r => r.CleanAccuracy);
        Accuracy($"clean, ML.NET Evaluate of the zip's pipeline ({testCount})", r => r.MlNetAccuracy);
        Accuracy($"clean (attacked {evalCount})", r => r.Report!.CleanAccuracy);
        var epsilons = options.Epsilons.Union(options.SuiteEpsilons).OrderBy(e => e).ToList();
        // A single attack's robust accuracy only bounds the model's from above; where no worst case is printed at that ε,
        // the row says so.
        string Bounded(double e) => options.SuiteEpsilons.Contains(e) ? "" : " — upper bound (gradient attacks only)";
        foreach (var e in epsilons) Accuracy($"FGSM ε={E(e)}, float model{Bounded(e)}", r => r.Report!.RobustAccuracy("FGSM", e));
        foreach (var e in epsilons) Accuracy($"{pgd} ε={E(e)}, float model{Bounded(e)}", r => r.Report!.RobustAccuracy(pgd, e));
        foreach (var e in options.SuiteEpsilons)
        {
            Accuracy($"{MinimumLabel(runs, r => r.Deployed, e)} ε={E(e)}, deployed ONNX (ONNX Runtime)", r => r.Deployed?.WorstCaseAccuracy(e));
            // FP's export is its own float graph: its deployed row is the float model's worst case (the suite runs once).
            Accuracy($"{MinimumLabel(runs.Where(r => r.Spec.IsQuantized).ToList(), r => r.Report, e)} ε={E(e)}, float TorchSharp model (FP: see deployed, the same float graph)",
                r => r.Spec.IsQuantized ? r.Report!.WorstCaseAccuracy(e) : null);
        }
        if (runs.Any(r => r.OnnxAccuracy is not null))
        {
            Accuracy($"ONNX clean (attacked {evalCount})", r => r.OnnxAccuracy);
            Other("ONNX agrees with TorchSharp", r => Pct(r.OnnxAgreement));
        }
        var first = runs[0].Report!;
        Other($"d_l ({string.Join(", ", first.Layers.Select(l => l.Layer.Split('.')[^1]))}, FGSM ε={E(first.AmplificationEpsilon ?? 0)})",
            r => string.Join(" · ", r.Report!.Layers.Select(l => l.Amplification.ToString("0.00", C))));
        Other("spectral norms (∏)", r => string.Join(" · ", r.Report!.SpectralNorms.Select(s => s.SpectralNorm.ToString("0.00", C))) +
                                               $" ({r.Report.SpectralNormProduct?.ToString("0.00", C)})");
        Other("Σ‖G−I‖²_F (all layers)", r => r.Orthogonality.ToString("0.0", C));
        Other("masking-check warnings", r => r.Report!.Warnings.Count.ToString(C));
        Other("train / eval time", r => $"{r.TrainTime.TotalSeconds:0} s / {r.EvalTime.TotalSeconds:0} s");
        return new Table(header, rows);
    }

    /// <summary>"worst case" when every model's suite at ε had a score-based attack, else "upper bound (gradient attacks only)".</summary>
    private static string MinimumLabel(IReadOnlyList<ModelRun> runs, Func<ModelRun, RobustnessReport?> report, double e) =>
        WorstCaseResult.LabelOf(runs.All(r => report(r)?.WorstCaseBound(e) == RobustBound.WorstCase) ? RobustBound.WorstCase : RobustBound.UpperBound);

    /// <summary>Sentences comparing DQ-4 with VQ-4 and FP (empty if a model is missing).</summary>
    public static IEnumerable<string> Verdict(IReadOnlyList<ModelRun> runs, QuickstartOptions options)
    {
        var fp = runs.FirstOrDefault(r => r.Name == "fp");
        var vq = runs.FirstOrDefault(r => r.Name == "vq4");
        var dq = runs.FirstOrDefault(r => r.Name == "dq4");
        if (fp is null || vq is null || dq is null) yield break;
        string pgd = $"PGD-{options.PgdSteps}";
        foreach (var e in options.SuiteEpsilons)
        {
            double? Gain(Func<ModelRun, RobustnessReport?> report) =>
                report(dq)?.WorstCaseAccuracy(e) is double d && report(vq)?.WorstCaseAccuracy(e) is double v ? 100 * (d - v) : null;
            int attacks = dq.Deployed?.WorstCase.FirstOrDefault(w => Math.Abs(w.Epsilon - e) < 1e-12)?.Attacks.Count ?? 0;
            yield return $"ε = {E(e)}: DQ-4 − VQ-4 = {Points(Gain(r => r.Deployed))} in the deployed models' {MinimumLabel(runs, r => r.Deployed, e)} " +
                         $"over {attacks} attacks (ONNX Runtime), {Points(Gain(r => r.Report))} in the float models' {MinimumLabel(new[] { vq, dq }, r => r.Report, e)}.";
        }
        yield return $"Clean accuracy: DQ-4 {Pct(dq.CleanAccuracy)} vs FP {Pct(fp.CleanAccuracy)} ({Points(100 * (dq.CleanAccuracy - fp.CleanAccuracy))}), " +
                     $"VQ-4 {Pct(vq.CleanAccuracy)}.";
    }

    public static string Markdown(Table table, IReadOnlyList<ModelRun> runs, QuickstartOptions options, string source, int trainCount,
        int testCount, int evalCount, TimeSpan wallTime)
    {
        var sb = new StringBuilder();
        sb.AppendLine("# DqMlNet quickstart: FP vs VQ-4 vs DQ-4 on Fashion-MNIST").AppendLine();
        sb.AppendLine("Each model is trained through the ML.NET stage (`mlContext.DefensiveQuantize`), saved with `mlContext.Model.Save` as an " +
                      "ML.NET zip (`fp.zip`, `vq4.zip`, `dq4.zip`: `mlContext.Model.Load` reads them in any process) and as ONNX, and the saved zip " +
                      "is loaded back (`DqModelFile.Load`) and evaluated with `mlContext.MulticlassClassification.EvaluateRobustness`.").AppendLine();
        sb.AppendLine($"Fashion-MNIST ({source}), {trainCount} train / {testCount} test images. SmallCnn (no BatchNorm), Adam {options.LearningRate}, " +
                         $"batch 128, {options.Epochs} epoch(s), seed {options.Seed}, {options.Threads} threads. VQ-4/DQ-4: 4-bit quantized ReLU6 " +
                         $"activations, float weights; DQ-4: Lipschitz regularisation β = {options.Beta} on every conv/linear layer.").AppendLine();
        sb.AppendLine($"Attacks (L∞, pixels in [0, 1], white-box, the same for every model) on the first {evalCount} test images: " +
                         $"FGSM and PGD-{options.PgdSteps} (step 2.5ε/{options.PgdSteps}, random start) at ε ∈ {{{string.Join(", ", options.Epsilons.Union(options.SuiteEpsilons).OrderBy(e => e).Select(E))}}}; " +
                         $"at ε ∈ {{{string.Join(", ", options.SuiteEpsilons.Select(E))}}} also APGD-CE ({5 * options.PgdSteps} steps), APGD-T ({5 * options.PgdSteps} steps, 3 target classes), " +
                         $"Square ({options.SquareQueries} queries) and, for the quantized models, PGD-{options.PgdSteps} as a surrogate-gradient attack " +
                         "(gradients through the un-quantized ReLU6, every candidate judged on the quantized model). " +
                         "The worst case counts an image as robust only if every one of these attacks fails on it; the suite runs in AutoAttack's cascade (each attack " +
                         "only on the images every earlier one failed on, so its rows in the per-model reports are cumulative). Robust accuracy is the fraction of all " +
                         "attacked images (misclassified clean images count as failures). This suite is lighter than AutoAttack's standard one (APGD-T with 3 targets, " +
                         "no FAB-T, fewer Square queries), so its worst case can lie above AutoAttack's.").AppendLine();
        sb.AppendLine("Two artifacts are evaluated. **Deployed ONNX (ONNX Runtime)**: the saved zip is loaded back and its ONNX export (int8 weights, " +
                      "folded BatchNorm, the exact activation grid) is attacked; every candidate and verdict is scored by ONNX Runtime, every gradient comes " +
                      "from the export's differentiable TorchSharp twin — this is the number to quote. **Float TorchSharp model**: the trained model with float " +
                      "weights, beside it (for the quantized models; FP's export is its float graph, so its deployed row already describes it). A row without a worst case at its ε is labelled \"upper bound (gradient attacks only)\": a single gradient attack " +
                      "can miss adversarial examples that exist.").AppendLine();
        sb.AppendLine("Numbers depend on the CPU (floating-point kernels differ): another machine gives numbers a few tenths of a point apart with the " +
                      "same seed and thread count.").AppendLine();
        sb.Append(DqMlNet.Samples.Quickstart.Markdown.Table(table.Header, table.Rows)).AppendLine();
        if (options.Onnx)
            sb.AppendLine("ONNX: `fp.onnx` is a float graph; `vq4.onnx`/`dq4.onnx` are QDQ graphs with the exact 4-bit activation grid and " +
                          "int8 per-channel weights (the trained weights are float), so a few predictions near a decision boundary may differ " +
                          "from TorchSharp's. The deployed rows attack these files (loaded back from the zips), the float rows the TorchSharp models.").AppendLine();
        foreach (var line in Verdict(runs, options)) sb.AppendLine("- " + line);
        sb.AppendLine();
        sb.AppendLine("![robust accuracy under PGD vs ε (float models; an upper bound, gradient attacks only)](robustness.png)").AppendLine();
        sb.AppendLine("![error amplification per layer](error-amplification.png)").AppendLine();
        sb.AppendLine("## Warnings").AppendLine();
        bool any = false;
        foreach (var run in runs)
            foreach (var w in run.Report!.Warnings)
            {
                sb.AppendLine($"- {run.Label}: {w}");
                any = true;
            }
        if (!any) sb.AppendLine("None: every gradient-masking check passed for every model.");
        sb.AppendLine().AppendLine("## Timings").AppendLine();
        foreach (var run in runs)
            sb.AppendLine($"- {run.Label}: training {run.TrainTime.TotalSeconds:0} s, evaluation {run.EvalTime.TotalSeconds:0} s " +
                             $"({string.Join(", ", run.Report!.Attacks.GroupBy(a => a.Name).Select(g => $"{g.Key} {g.Sum(a => a.Seconds):0} s"))})");
        sb.AppendLine($"- total wall time: {wallTime.TotalMinutes:0.0} min").AppendLine();
        sb.AppendLine("## Per-model reports").AppendLine();
        foreach (var run in runs)
        {
            sb.AppendLine(ReportWriter.ToMarkdown(run.Deployed!).Replace("### ", "### " + run.Label + " (deployed ONNX): "));
            sb.AppendLine(ReportWriter.ToMarkdown(run.Report!).Replace("### ", "### " + run.Label + " (float model" +
                                                                      (run.Spec.IsQuantized ? "" : ", FGSM and PGD only") + "): "));
        }
        sb.AppendLine("Files: " + string.Join(", ", runs.SelectMany(r => r.Files).Select(Path.GetFileName)
            .Concat(new[] { "robustness.png", "error-amplification.png", "summary.md" })) + ".");
        return sb.ToString();
    }

    private static string Pct(double? value) => value is double v ? v.ToString("0.0 %", C) : "–";

    private static string Points(double? value) => value is double v ? v.ToString("+0.0;−0.0;0.0", C) + " points" : "–";

    private static string E(double e) => e.ToString("0.###", C);
}
