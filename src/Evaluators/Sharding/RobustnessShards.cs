namespace DqMlNet.Evaluators;

/// <summary>
/// Joins the reports of the shards of one evaluation (<see cref="RobustnessOptions.Shard"/>) into the report one process
/// evaluating every row writes: same per-image outcomes, same aggregates (computed from them in row order), same
/// warnings. Only <see cref="AttackResult.Seconds"/> differs (the sum of the shards' wall-clock times). Nothing here
/// schedules, retries or moves work: a batch engine runs the shards; a failed shard is simply run again.
/// </summary>
public static class RobustnessShards
{
    /// <summary>
    /// Merges shard reports. Throws <see cref="InvalidDataException"/> naming the offending report when they are not the
    /// shards of one evaluation: different model (SHA-256), suite, seed, row count, artifact or description; a shard or
    /// a row missing or present twice; a report that is not a shard (no shard section or no per-image outcomes).
    /// </summary>
    /// <param name="shards">The shard reports, in any order.</param>
    /// <param name="names">A name per report for the messages (e.g. its file path); default "report 1", "report 2", ….</param>
    public static RobustnessReport Merge(IReadOnlyList<RobustnessReport> shards, IReadOnlyList<string>? names = null)
    {
        ArgumentNullException.ThrowIfNull(shards);
        if (shards.Count == 0) throw new InvalidDataException("No shard reports to merge: give every shard's JSON (e.g. shards/*.json).");
        if (names is not null && names.Count != shards.Count) throw new ArgumentException("names needs one name per report.", nameof(names));
        string Name(int i) => names?[i] ?? $"report {i + 1}";

        for (int i = 0; i < shards.Count; i++)
        {
            var r = shards[i];
            if (r.Shard is null || r.Images is null || r.Suite is null)
                throw new InvalidDataException($"{Name(i)} is not a shard report (schema {r.SchemaVersion}, no shard section or no per-image outcomes): " +
                                              "write shards with dq evaluate --shard i/N (or RobustnessOptions.Shard).");
            if (r.ModelSha256 is null)
                throw new InvalidDataException($"{Name(i)} carries no model SHA-256, so it cannot be matched to the other shards: " +
                                              "set RobustnessReport.ModelSha256 to the hash of the model file (dq evaluate does).");
            CheckConsistent(r, Name(i));
        }

        var first = shards[0];
        for (int i = 1; i < shards.Count; i++)
        {
            var r = shards[i];
            void Same<T>(T a, T b, string what)
            {
                if (!EqualityComparer<T>.Default.Equals(a, b))
                    throw new InvalidDataException($"{Name(i)} is a shard of another evaluation than {Name(0)}: {what} differs ('{b}' vs '{a}'). " +
                                                  "Merge only the shards of one run (same model, suite, seed and data).");
            }
            Same(first.ModelSha256, r.ModelSha256, "the model SHA-256");
            Same(first.Seed, r.Seed, "the seed");
            Same(first.Shard!.TotalRows, r.Shard!.TotalRows, "the total row count");
            Same(first.Model, r.Model, "the model description");
            Same(first.Artifact, r.Artifact, "the artifact");
            Same(first.ThreatModel, r.ThreatModel, "the threat model");
            Same(first.SchemaVersion, r.SchemaVersion, "the schema version");
            if (!first.Suite!.Matches(r.Suite))
                throw new InvalidDataException($"{Name(i)} is a shard of another evaluation than {Name(0)}: the suite differs " +
                                              $"(attacks {Describe(r.Suite!)} vs {Describe(first.Suite)}). Merge only the shards of one run.");
            Same(first.Shard.Count, r.Shard.Count, "the shard count");
            Same(first.Shard.Layout, r.Shard.Layout, "the shard layout");
        }

        int count = first.Shard!.Count, total = first.Shard.TotalRows;
        var byIndex = new Dictionary<int, int>();
        for (int i = 0; i < shards.Count; i++)
        {
            if (byIndex.TryGetValue(shards[i].Shard!.Index, out int other))
                throw new InvalidDataException($"{Name(i)} and {Name(other)} are both shard {shards[i].Shard!.Index}/{count}: give each shard once.");
            byIndex[shards[i].Shard!.Index] = i;
        }
        var missing = Enumerable.Range(0, count).Where(s => !byIndex.ContainsKey(s)).ToList();
        if (missing.Count > 0)
            throw new InvalidDataException($"Shard{(missing.Count > 1 ? "s" : "")} {string.Join(", ", missing.Take(10).Select(s => $"{s}/{count}"))}" +
                                          $"{(missing.Count > 10 ? ", …" : "")} missing: {shards.Count} of {count} shards given. Run the missing shards (or re-run failed ones) and merge all of them.");

        // Every row exactly once: the shard sections could be right while the rows inside are not (an edited file).
        var owner = new int[total];
        Array.Fill(owner, -1);
        for (int i = 0; i < shards.Count; i++)
            foreach (long row in shards[i].Images!.Rows)
            {
                if (row < 0 || row >= total)
                    throw new InvalidDataException($"{Name(i)} holds row {row}, outside the evaluation's {total} rows.");
                if (owner[row] >= 0)
                    throw new InvalidDataException($"Row {row} is in both {Name(owner[row])} and {Name(i)}: shards overlap, so some images would count twice.");
                owner[row] = i;
            }
        int lost = Array.IndexOf(owner, -1);
        if (lost >= 0)
            throw new InvalidDataException($"Row {lost} (and {owner.Count(o => o < 0) - 1} more) is in no shard: the shards do not cover the evaluation's {total} rows.");

        // Rows in ascending global order: position j of the merged arrays is row j.
        var position = new int[total];
        for (int i = 0; i < shards.Count; i++)
        {
            var rows = shards[i].Images!.Rows;
            for (int j = 0; j < rows.Length; j++) position[rows[j]] = j;
        }
        var suite = first.Suite!;
        var ordered = shards.Select(s => s.Images!).ToList();
        var clean = new char[total];
        for (int r = 0; r < total; r++) clean[r] = ordered[owner[r]].CleanCorrect[position[r]];
        var attacks = first.Images!.Attacks.Select((a, k) =>
        {
            var correct = new char[total];
            var norms = new double?[total];
            bool anyQueries = ordered.Any(o => o.Attacks[k].Queries is not null);
            var queries = anyQueries ? new long?[total] : null;
            for (int r = 0; r < total; r++)
            {
                var source = ordered[owner[r]].Attacks[k];
                correct[r] = source.Correct[position[r]];
                norms[r] = source.Perturbation[position[r]];
                if (queries is not null) queries[r] = source.Queries?[position[r]];
            }
            return new ImageAttackResults { Name = a.Name, Epsilon = a.Epsilon, Correct = new string(correct), Perturbation = norms, Queries = queries };
        }).ToList();
        var layers = first.Images.Amplification.Select((layer, l) =>
        {
            var ratios = new double?[total];
            for (int r = 0; r < total; r++) ratios[r] = ordered[owner[r]].Amplification[l].Ratios[position[r]];
            return new ImageLayerResults { Layer = layer.Layer, Ratios = ratios };
        }).ToList();
        var images = new ImageResults
        {
            Rows = Enumerable.Range(0, total).Select(r => (long)r).ToArray(),
            CleanCorrect = new string(clean),
            Attacks = attacks,
            Amplification = layers,
        };

        // Model-level parts (spectral norms, masking probes on the first rows) come from shard 0, which computes them.
        var zero = shards[byIndex[0]];
        var seconds = Enumerable.Range(0, attacks.Count).Select(k => shards.Sum(s => s.Attacks[k].Seconds)).ToList();
        var header = new ReportAssembly.Header(first.Model, first.Artifact, first.ThreatModel, first.Seed);
        return ReportAssembly.Assemble(header, suite, images, seconds, zero.SpectralNorms, zero.SpectralNormProduct, zero.Shard!.ProbeWarnings)
            with { ModelSha256 = first.ModelSha256 };
    }

    /// <summary>A shard's own arrays must agree with its suite and with each other before their values are trusted.</summary>
    private static void CheckConsistent(RobustnessReport r, string name)
    {
        var images = r.Images!;
        var suite = r.Suite!;
        int n = images.Rows.Length;
        void Require(bool ok, string what)
        {
            if (!ok) throw new InvalidDataException($"{name} is inconsistent: {what}. The file was edited or truncated; run the shard again.");
        }
        Require(r.Shard!.Count >= 1 && r.Shard.Index >= 0 && r.Shard.Index < r.Shard.Count, $"shard {r.Shard.Index}/{r.Shard.Count} is impossible");
        Require(r.Shard.TotalRows >= 0, "the total row count is negative");
        Require(images.CleanCorrect.Length == n && images.CleanCorrect.All(c => c is '0' or '1'), "cleanCorrect needs one '0' or '1' per row");
        Require(images.Attacks.Count == suite.Attacks.Count * suite.Epsilons.Count && r.Attacks.Count == images.Attacks.Count,
            "the per-image outcomes do not list every attack at every ε of the suite");
        Require(suite.Attacks.All(a => a.Settings.Count == suite.Epsilons.Count), "an attack of the suite lacks its settings at some ε");
        for (int k = 0; k < images.Attacks.Count; k++)
        {
            var a = images.Attacks[k];
            var expected = suite.Attacks[k % suite.Attacks.Count];
            Require(a.Name == expected.Name && a.Epsilon == suite.Epsilons[k / suite.Attacks.Count], $"outcome {k + 1} is {a.Name} at ε = {a.Epsilon}, not the suite's attack");
            Require(a.Correct.Length == n && a.Correct.All(c => c is '0' or '1' or '-'), $"{a.Name} at ε = {a.Epsilon} needs one '0', '1' or '-' per row");
            Require(a.Perturbation.Length == n && (a.Queries is null || a.Queries.Length == n), $"{a.Name} at ε = {a.Epsilon} needs one perturbation (and query count) per row");
        }
        Require(images.Amplification.All(l => l.Ratios.Length == n), "an amplification layer needs one ratio per row");
        Require(r.Shard.Index != 0 || !suite.MaskingChecks || r.Shard.ProbeWarnings is not null, "shard 0 lacks the masking probes' warnings");
    }

    private static string Describe(EvaluationSuite suite) =>
        $"{string.Join(", ", suite.Attacks.Select(a => a.Name))} at ε {string.Join(", ", suite.Epsilons)}{(suite.Cascade ? ", cascade" : "")}";
}
