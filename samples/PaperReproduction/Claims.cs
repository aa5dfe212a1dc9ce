using System.Globalization;

namespace DqMlNet.Samples.PaperReproduction;

/// <summary>How a claim fared.</summary>
internal enum Verdict
{
    Holds,
    HoldsPartly,
    DoesNotHold,
    NotMeasured,
}

/// <summary>One claim of the DQ paper (C1–C6) with its verdict and the numbers behind it.</summary>
internal sealed record ClaimResult(string Id, string Statement, Verdict Verdict, string Summary, IReadOnlyList<string> Evidence)
{
    public string VerdictText => Verdict switch
    {
        Verdict.Holds => "holds",
        Verdict.HoldsPartly => "holds partly",
        Verdict.DoesNotHold => "does not hold",
        _ => "not measured",
    };
}

/// <summary>
/// Judges claims C1–C6 from a study's numbers. Robustness comparisons use worst cases only: the per-image minimum over
/// the strong suite on each model's deployed ONNX export (single attacks only bound robust accuracy from above). Every comparison is strict (a tie does not count as "more robust"), and
/// each is listed with its margin and whether the margin exceeds two standard errors of a difference of two
/// proportions on the attacked images (a rough noise bar: paired images make the true error smaller).
/// </summary>
internal sealed class Claims(StudyResults results)
{
    private readonly StudyConfig config = results.Config;

    public IReadOnlyList<ClaimResult> All() => new[] { C1(), C2(), C3(), C4(), C5(), C6() };

    /// <summary>One comparison "a &gt; b" with its evidence line.</summary>
    private sealed record Comparison(bool Holds, bool Clear, string Text);

    private Comparison Compare(string what, string aName, double a, string bName, double b, int n)
    {
        double se = Math.Sqrt(a * (1 - a) / n + b * (1 - b) / n);
        double diff = a - b;
        bool clear = Math.Abs(diff) > 2 * se;
        string sign = diff > 0 ? "✓" : "✗";
        return new(diff > 0, clear, $"{sign} {what}: {aName} {Pct(a)} vs {bName} {Pct(b)} ({Points(diff)}{(clear ? "" : ", within noise")})");
    }

    private ClaimResult Judge(string id, string statement, IReadOnlyList<Comparison> comparisons, IEnumerable<string>? extra = null, double partlyShare = 0.5)
    {
        var evidence = (extra ?? Array.Empty<string>()).Concat(comparisons.Select(c => c.Text)).ToList();
        if (comparisons.Count == 0) return new(id, statement, Verdict.NotMeasured, "no runs measured it", evidence);
        int held = comparisons.Count(c => c.Holds), clear = comparisons.Count(c => c.Holds && c.Clear);
        var verdict = held == comparisons.Count ? Verdict.Holds : held >= partlyShare * comparisons.Count && held > 0 ? Verdict.HoldsPartly : Verdict.DoesNotHold;
        return new(id, statement, verdict, $"{held} of {comparisons.Count} comparisons hold ({clear} by more than 2 standard errors)", evidence);
    }

    private int N => results.Models.Count == 0 ? 1 : results.Models[0].Quick.N;

    private IEnumerable<int> Bits => config.Bits;

    /// <summary>C1: VQ keeps clean accuracy at 4–5 bits but loses robustness vs FP, more as bits shrink.</summary>
    private ClaimResult C1()
    {
        var fp = results.Get(RunIds.Fp);
        var parts = new List<Comparison>();
        foreach (int k in Bits.Where(k => k >= 4))
        {
            // "Keeps clean accuracy": within one point of FP.
            var vq = results.Get(RunIds.Vq(k)).Model;
            double diff = vq.CleanAccuracy - fp.Model.CleanAccuracy;
            parts.Add(new(diff > -0.01, true, $"{(diff > -0.01 ? "✓" : "✗")} clean accuracy kept at {k} bits (within 1 point): VQ-{k} {Pct(vq.CleanAccuracy)} vs FP {Pct(fp.Model.CleanAccuracy)} ({Points(diff)})"));
        }
        // Robustness is judged on the deployed models' worst cases only: a single gradient attack (PGD) only bounds
        // robust accuracy from above, and through a low-bit quantizer it can be masked.
        foreach (int k in Bits)
            foreach (double e in config.KeyEpsilons)
                if (WorstCase(RunIds.Fp, e) is double fpWorst && WorstCase(RunIds.Vq(k), e) is double vqWorst)
                    parts.Add(Compare($"worst case ε = {Eps(e)}, FP more robust than VQ-{k}", "FP", fpWorst, $"VQ-{k}", vqWorst, N));
        // "More as bits shrink": VQ's mean worst-case accuracy over the key ε should rise with the bit width.
        var byBits = Bits.Select(k => (k, config.KeyEpsilons.Average(e => WorstCase(RunIds.Vq(k), e) ?? double.NaN))).Where(b => !double.IsNaN(b.Item2)).ToList();
        if (byBits.Count >= 2)
        {
            double rho = Spearman(byBits.Select(b => (double)b.k).ToList(), byBits.Select(b => b.Item2).ToList());
            parts.Add(new(rho > 0, true, $"{(rho > 0 ? "✓" : "✗")} VQ's robustness falls as bits shrink: mean worst-case accuracy over ε {{{string.Join(", ", config.KeyEpsilons.Select(Eps))}}} by bits " +
                                         string.Join(", ", byBits.Select(b => $"{b.k}: {Pct(b.Item2)}")) + $"; Spearman ρ(bits, accuracy) = {rho:F2}"));
        }
        return Judge("C1", "VQ keeps clean accuracy at 4–5 bits but loses robustness vs FP, more as bits shrink.", parts);
    }

    /// <summary>C2: DQ is more robust than VQ at every bit width (the deployed models' worst cases).</summary>
    private ClaimResult C2()
    {
        var parts = new List<Comparison>();
        foreach (int k in Bits)
            foreach (double e in config.KeyEpsilons)
                if (WorstCase(RunIds.Dq(k), e) is double dq && WorstCase(RunIds.Vq(k), e) is double vq)
                    parts.Add(Compare($"worst case ε = {Eps(e)}, {k}-bit", $"DQ-{k}", dq, $"VQ-{k}", vq, N));
        return Judge("C2", "DQ is more robust than VQ at every bit width.", parts);
    }

    /// <summary>C3: at 4–5 bits DQ is more robust than FP.</summary>
    private ClaimResult C3()
    {
        var parts = new List<Comparison>();
        foreach (int k in Bits.Where(k => k >= 4))
            foreach (double e in config.KeyEpsilons)
                if (WorstCase(RunIds.Dq(k), e) is double dq && WorstCase(RunIds.Fp, e) is double fp)
                    parts.Add(Compare($"worst case ε = {Eps(e)}, {k}-bit", $"DQ-{k}", dq, "FP", fp, N));
        return Judge("C3", "At 4–5 bits DQ is more robust than FP.", parts);
    }

    /// <summary>C4: DQ's clean accuracy is at least VQ's at low bits (here: 1–3 bits, on the whole test split).</summary>
    private ClaimResult C4()
    {
        var parts = new List<Comparison>();
        foreach (int k in Bits.Where(k => k <= 3))
        {
            var dq = results.Get(RunIds.Dq(k)).Model;
            var vq = results.Get(RunIds.Vq(k)).Model;
            int n = dq.TestImages;
            var c = Compare($"clean accuracy, {k}-bit", $"DQ-{k}", dq.CleanAccuracy, $"VQ-{k}", vq.CleanAccuracy, n);
            parts.Add(c with { Holds = dq.CleanAccuracy >= vq.CleanAccuracy, Text = (dq.CleanAccuracy >= vq.CleanAccuracy ? "✓" : "✗") + c.Text[1..] });
        }
        return Judge("C4", "DQ's clean accuracy is ≥ VQ's at low bits (1–3 bits).", parts);
    }

    /// <summary>C5: error amplification d_l grows with depth for VQ; DQ keeps it small.</summary>
    private ClaimResult C5()
    {
        int a = config.AdversarialBits;
        var parts = new List<Comparison>();
        var extra = new List<string>();
        foreach (var (vqId, dqId, fpId, name) in new[]
                 {
                     (RunIds.Vq(a), RunIds.Dq(a), RunIds.Fp, "SmallCnn"),
                     (RunIds.Deep(RunIds.Vq(a)), RunIds.Deep(RunIds.Dq(a)), RunIds.Deep(RunIds.Fp), "deep network"),
                 })
        {
            if (results.Find(vqId) is not { } vq || results.Find(dqId) is not { } dq) continue;
            var vqLayers = vq.Quick.Layers.Select(l => l.Amplification).ToList();
            var dqLayers = dq.Quick.Layers.Select(l => l.Amplification).ToList();
            if (vqLayers.Count < 2 || dqLayers.Count != vqLayers.Count) continue;
            double eps = vq.Quick.AmplificationEpsilon ?? double.NaN;
            extra.Add($"{vq.Model.Architecture}: d_l (FGSM ε = {Eps(eps)}) VQ-{a} {Seq(vqLayers)}; DQ-{a} {Seq(dqLayers)}" +
                      (results.Find(fpId) is { } fp ? $"; FP {Seq(fp.Quick.Layers.Select(l => l.Amplification).ToList())}" : ""));
            double rho = Spearman(Enumerable.Range(0, vqLayers.Count).Select(i => (double)i).ToList(), vqLayers);
            bool grows = vqLayers[^1] > vqLayers[0] && rho > 0;
            parts.Add(new(grows, true, $"{(grows ? "✓" : "✗")} {name}: VQ-{a}'s d_l grows with depth (first {vqLayers[0]:F3}, last {vqLayers[^1]:F3}, Spearman ρ(layer, d_l) = {rho:F2})"));
            bool smallerLast = dqLayers[^1] < vqLayers[^1];
            parts.Add(new(smallerLast, true, $"{(smallerLast ? "✓" : "✗")} {name}: DQ-{a}'s d_l at the last layer is below VQ-{a}'s ({dqLayers[^1]:F3} vs {vqLayers[^1]:F3})"));
            double dqMean = dqLayers.Average(), vqMean = vqLayers.Average();
            parts.Add(new(dqMean < vqMean, true, $"{(dqMean < vqMean ? "✓" : "✗")} {name}: DQ-{a}'s mean d_l over layers is below VQ-{a}'s ({dqMean:F3} vs {vqMean:F3})"));
        }
        return Judge("C5", "Error amplification d_l grows with depth for VQ; DQ keeps it small.", parts, extra);
    }

    /// <summary>
    /// C6: the gain holds under R+FGSM, BIM/PGD and transfer attacks, and adds to adversarial training. Judged on the
    /// deployed worst cases, whose suite contains R+FGSM, BIM, PGD and transfer from FP and VQ substitutes of another
    /// seed (crafted for all steps): DQ-k vs VQ-k at every bit width, and DQ + AT vs VQ + AT and FP + AT. The single-attack
    /// numbers are listed as evidence (upper bounds, not judged).
    /// </summary>
    private ClaimResult C6()
    {
        int a = config.AdversarialBits;
        var parts = new List<Comparison>();
        var extra = new List<string>();
        foreach (int k in Bits)
            foreach (double e in config.KeyEpsilons)
            {
                if (WorstCase(RunIds.Dq(k), e) is double dq && WorstCase(RunIds.Vq(k), e) is double vq)
                    parts.Add(Compare($"worst case over the paper's, transfer and strong attacks, ε = {Eps(e)}, {k}-bit", $"DQ-{k}", dq, $"VQ-{k}", vq, N));
                foreach (string attack in SingleAttacks())
                    if (results.Get(RunIds.Dq(k)).Robust(attack, e) is double d && results.Get(RunIds.Vq(k)).Robust(attack, e) is double v)
                        extra.Add($"{attack} ε = {Eps(e)}, {k}-bit (float model, one attack: upper bound, not judged): DQ-{k} {Pct(d)} vs VQ-{k} {Pct(v)} ({Points(d - v)})");
            }
        if (results.Find(RunIds.Adversarial(RunIds.Dq(a))) is { } dqAt)
            foreach (double e in config.KeyEpsilons)
            {
                if (dqAt.WorstCase(e) is not double d) continue;
                if (results.Find(RunIds.Adversarial(RunIds.Vq(a)))?.WorstCase(e) is double v)
                    parts.Add(Compare($"with adversarial training, worst case ε = {Eps(e)}", $"DQ-{a} + AT", d, $"VQ-{a} + AT", v, N));
                if (results.Find(RunIds.Adversarial(RunIds.Fp))?.WorstCase(e) is double f)
                    parts.Add(Compare($"with adversarial training, worst case ε = {Eps(e)}", $"DQ-{a} + AT", d, "FP + AT", f, N));
            }
        return Judge("C6", "The gain holds under R+FGSM, BIM/PGD and transfer attacks, and adds to adversarial training.", parts, extra);
    }

    private IEnumerable<string> SingleAttacks() =>
        new[] { "R+FGSM", "BIM", results.Pgd, TransferNames.Of(config.PgdSteps, "FP"), TransferNames.Of(config.PgdSteps, $"VQ-{config.AdversarialBits}") };

    /// <summary>The deployed model's worst case (the strong suite on its ONNX export), or null where it was not measured.</summary>
    private double? WorstCase(string id, double e) => results.Find(id)?.WorstCase(e);

    internal static double Spearman(IReadOnlyList<double> x, IReadOnlyList<double> y)
    {
        var rx = Ranks(x);
        var ry = Ranks(y);
        double mx = rx.Average(), my = ry.Average();
        double sxy = 0, sxx = 0, syy = 0;
        for (int i = 0; i < rx.Length; i++)
        {
            sxy += (rx[i] - mx) * (ry[i] - my);
            sxx += (rx[i] - mx) * (rx[i] - mx);
            syy += (ry[i] - my) * (ry[i] - my);
        }
        return sxx == 0 || syy == 0 ? 0 : sxy / Math.Sqrt(sxx * syy);
    }

    private static double[] Ranks(IReadOnlyList<double> values)
    {
        var order = values.Select((v, i) => (v, i)).OrderBy(p => p.v).ToList();
        var ranks = new double[values.Count];
        for (int i = 0; i < order.Count;)
        {
            int j = i;
            while (j + 1 < order.Count && order[j + 1].v == order[i].v) j++;
            for (int t = i; t <= j; t++) ranks[order[t].i] = (i + j) / 2.0; // ties share their mean rank
            i = j + 1;
        }
        return ranks;
    }

    internal static string Pct(double v) => double.IsNaN(v) ? "–" : (100 * v).ToString("F1", CultureInfo.InvariantCulture) + " %";

    internal static string Points(double diff) => (diff >= 0 ? "+" : "−") + Math.Abs(100 * diff).ToString("F1", CultureInfo.InvariantCulture) + " points";

    internal static string Eps(double e) => e.ToString("0.####", CultureInfo.InvariantCulture);

    private static string Seq(IReadOnlyList<double> values) => string.Join(" · ", values.Select(v => v.ToString("F3", CultureInfo.InvariantCulture)));
}
