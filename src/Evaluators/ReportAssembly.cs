namespace DqMlNet.Evaluators;

/// <summary>
/// Builds a report's aggregates from its per-image outcomes, in ascending row order. The evaluator and the shard merge
/// both go through here, so the report of one process and the merge of its shards hold the same numbers: same values,
/// same order of summation.
/// </summary>
internal static class ReportAssembly
{
    /// <summary>The model-level facts of a report (identical in every shard of one evaluation).</summary>
    public sealed record Header(string Model, string Artifact, string ThreatModel, long Seed);

    public static RobustnessReport Assemble(Header header, EvaluationSuite suite, ImageResults images, IReadOnlyList<double> seconds,
        IReadOnlyList<SpectralNormResult> spectral, double? product, IReadOnlyList<string>? probeWarnings)
    {
        int n = images.Rows.Length;
        int clean = images.CleanCorrect.Count(c => c == '1');
        var results = new List<AttackResult>();
        int k = 0;
        for (int e = 0; e < suite.Epsilons.Count; e++)
        {
            for (int a = 0; a < suite.Attacks.Count; a++, k++)
            {
                var attack = suite.Attacks[a];
                var image = images.Attacks[k];
                int robust = 0, attacked = 0;
                double normSum = 0, normMax = 0;
                long querySum = 0;
                bool hasQueries = false;
                for (int i = 0; i < n; i++)
                {
                    char verdict = image.Correct[i];
                    if (verdict == '-') continue;
                    attacked++;
                    if (verdict == '1') robust++;
                    double norm = image.Perturbation[i] ?? throw new InvalidDataException($"{image.Name} at ε = {image.Epsilon}: row {images.Rows[i]} was attacked but has no perturbation norm.");
                    normSum += norm;
                    normMax = Math.Max(normMax, norm);
                    if (image.Queries?[i] is long q) { hasQueries = true; querySum += q; }
                }
                // In a cascade every attack after the first works on the survivors only: its rates count those.
                bool survivorsOnly = suite.Cascade && a > 0;
                results.Add(new AttackResult
                {
                    Name = attack.Name,
                    Settings = attack.Settings[e] + (survivorsOnly && attacked == 0 ? "; nothing left to attack" : ""),
                    Norm = attack.Norm,
                    Epsilon = suite.Epsilons[e],
                    RobustAccuracy = Fraction(robust, n),
                    SuccessRate = survivorsOnly ? Fraction(attacked - robust, attacked) : Fraction(clean - robust, clean),
                    MeanPerturbation = Fraction(normSum, attacked),
                    MaxPerturbation = normMax,
                    MeanQueries = hasQueries ? Fraction(querySum, attacked) : null,
                    Cumulative = suite.Cascade,
                    Attacked = attacked,
                    Seconds = seconds[k],
                });
            }
        }

        var names = suite.Attacks.Select(a => a.Name).ToList();
        // Gradient attacks alone only bound robust accuracy from above: masked gradients hide adversarial examples that a
        // score-based search (Square) still finds. Only a suite with one may call its minimum a worst case.
        var bound = suite.Attacks.Any(a => a.ScoreBased) ? RobustBound.WorstCase : RobustBound.UpperBound;
        var worst = suite.Epsilons.Select((epsilon, e) =>
        {
            int count = 0;
            for (int i = 0; i < n; i++)
            {
                if (images.CleanCorrect[i] != '1') continue;
                bool robust = true;
                for (int a = 0; a < suite.Attacks.Count && robust; a++) robust = images.Attacks[e * suite.Attacks.Count + a].Correct[i] == '1';
                if (robust) count++;
            }
            return new WorstCaseResult(epsilon, Fraction(count, n), names, bound);
        }).ToList();

        var layers = ErrorAmplification.Average(images.Amplification);

        var warnings = suite.Skipped.Select(s => $"{s} skipped: it needs gradients and the classifier is a black box.").ToList();
        if (suite.ScoreOnly) warnings.Add(RobustnessEvaluator.ScoreOnlyWarning);
        if (suite.MaskingChecks)
        {
            warnings.AddRange(MaskingChecks.RisingWithEpsilon(results, suite.MaskingTolerance));
            if (probeWarnings is not null) warnings.AddRange(probeWarnings);
        }

        return new RobustnessReport
        {
            Model = header.Model,
            Artifact = header.Artifact,
            ThreatModel = header.ThreatModel,
            N = n,
            Seed = header.Seed,
            CleanAccuracy = Fraction(clean, n),
            Attacks = results,
            WorstCase = worst,
            Layers = layers,
            SpectralNorms = spectral,
            SpectralNormProduct = product,
            AmplificationEpsilon = suite.AmplificationEpsilon,
            Warnings = warnings,
            Suite = suite,
            Images = images,
        };
    }

    // An empty shard (more shards than rows) has no images: its rates are 0, not NaN (JSON has no NaN).
    private static double Fraction(double count, double of) => of == 0 ? 0 : count / of;
}
