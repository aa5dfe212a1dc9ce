using DqMlNet.Evaluators;
using DqMlNet.Samples.PaperReproduction;

namespace DqMlNet.Tests;

/// <summary>The reproduction sample's verdict logic and its resumable store, on hand-made numbers.</summary>
public class ReproductionClaimsTests
{
    private static readonly StudyConfig Config = ReproductionProfile.Cpu.Studies[0] with
    {
        Bits = new[] { 2, 4 }, KeyEpsilons = new[] { 0.05, 0.1 }, Epsilons = new[] { 0.05, 0.1 }, StrongBits = Array.Empty<int>(), DeepSpec = null,
    };

    private static ModelResults Model(string id, string family, int? bits, double clean, double pgd05, double pgd10, double[]? layers = null,
        double? worst05 = null) =>
        new(new TrainedModel
            {
                Id = id, Label = id, Family = family, Bits = bits, Architecture = "SmallCnn", TrainImages = 100, TestImages = 10_000, Epochs = 1,
                TrainSeconds = 1, CleanAccuracy = clean, Orthogonality = 0,
            },
            new RobustnessReport
            {
                N = 500, CleanAccuracy = clean,
                Attacks = new[]
                {
                    new AttackResult { Name = "PGD-20", Epsilon = 0.05, RobustAccuracy = pgd05 },
                    new AttackResult { Name = "PGD-20", Epsilon = 0.1, RobustAccuracy = pgd10 },
                },
                Layers = (layers ?? new[] { 0.3, 0.4, 0.5 }).Select((d, i) => new LayerResult(i, $"act{i + 1}", d)).ToList(),
                AmplificationEpsilon = 0.1,
            },
            null, null, null,
            // The deployed worst case the claims are judged on (here the same numbers as PGD).
            new RobustnessReport
            {
                N = 500, CleanAccuracy = clean, Artifact = RobustnessReport.DeployedExport,
                WorstCase = new[]
                {
                    new WorstCaseResult(0.05, worst05 ?? pgd05, new[] { "PGD-20", "Square" }, RobustBound.WorstCase),
                    new WorstCaseResult(0.1, pgd10, new[] { "PGD-20", "Square" }, RobustBound.WorstCase),
                },
            });

    private static StudyResults Study(double dq2Pgd05 = 0.50, double dq2Clean = 0.88, double? dq2Worst05 = null) => new(Config, new[]
    {
        Model("fp", "FP", null, 0.90, 0.40, 0.06),
        Model("vq2", "VQ", 2, 0.86, 0.30, 0.03, new[] { 0.3, 0.5, 0.7 }),
        Model("dq2", "DQ", 2, dq2Clean, dq2Pgd05, 0.15, new[] { 0.2, 0.3, 0.3 }, dq2Worst05),
        Model("vq4", "VQ", 4, 0.905, 0.38, 0.05, new[] { 0.3, 0.45, 0.6 }),
        Model("dq4", "DQ", 4, 0.89, 0.55, 0.22, new[] { 0.25, 0.3, 0.35 }),
    }, TimeSpan.Zero);

    private static ClaimResult Claim(StudyResults s, string id) => new Claims(s).All().Single(c => c.Id == id);

    [Fact]
    public void DqAboveVqEverywhereHoldsAndOneReversalMakesItPartial()
    {
        var holds = Claim(Study(), "C2");
        Assert.Equal(Verdict.Holds, holds.Verdict);
        Assert.Equal(4, holds.Evidence.Count);
        Assert.StartsWith("4 of 4", holds.Summary);

        var partly = Claim(Study(dq2Pgd05: 0.25), "C2");
        Assert.Equal(Verdict.HoldsPartly, partly.Verdict);
        Assert.Contains(partly.Evidence, e => e.StartsWith("✗") && e.Contains("DQ-2 25.0 %") && e.Contains("−5.0 points"));
    }

    [Fact]
    public void RobustnessClaimsAreJudgedOnTheDeployedWorstCaseNotOnPgd()
    {
        // PGD says DQ-2 (50 %) beats VQ-2 (30 %) at ε = 0.05, but the deployed worst case (20 %) says it does not.
        var c2 = Claim(Study(dq2Pgd05: 0.50, dq2Worst05: 0.20), "C2");
        Assert.Equal(Verdict.HoldsPartly, c2.Verdict);
        Assert.StartsWith("3 of 4", c2.Summary);
        Assert.Contains(c2.Evidence, e => e.StartsWith("✗ worst case ε = 0.05, 2-bit") && e.Contains("DQ-2 20.0 %"));
        Assert.DoesNotContain(c2.Evidence, e => e.Contains("PGD-20"));
        // C6 lists single attacks as unjudged evidence only.
        var c6 = Claim(Study(dq2Worst05: 0.20), "C6");
        Assert.Equal(Verdict.HoldsPartly, c6.Verdict);
    }

    [Fact]
    public void EachClaimReadsTheNumbersItIsAbout()
    {
        var s = Study();
        Assert.Equal(Verdict.Holds, Claim(s, "C3").Verdict);         // DQ-4 55 % / 22 % vs FP 40 % / 6 %
        Assert.Equal(Verdict.Holds, Claim(s, "C4").Verdict);         // DQ-2 clean 88 % ≥ VQ-2 86 %
        Assert.Equal(Verdict.DoesNotHold, Claim(Study(dq2Clean: 0.80), "C4").Verdict);
        Assert.Equal(Verdict.Holds, Claim(s, "C5").Verdict);         // VQ-4's d_l rises 0.30 → 0.60; DQ-4's stays lower
        // C1: VQ-4 keeps clean accuracy (90.5 vs 90 %) and is less robust than FP, more so at 2 bits.
        var c1 = Claim(s, "C1");
        Assert.Equal(Verdict.Holds, c1.Verdict);
        Assert.Contains(c1.Evidence, e => e.Contains("Spearman ρ(bits, accuracy) = 1.00"));
        // C6 is judged on the worst cases (DQ-k vs VQ-k), and still needs every comparison; single attacks are only listed.
        Assert.Equal(Verdict.Holds, Claim(s, "C6").Verdict);
    }

    [Fact]
    public void SingleAttackNumbersComeFromTheAttackItselfNotFromTheCascade()
    {
        // The float strong suite runs the transfer attacks inside a cascade, where their column is the minimum over
        // every earlier attack (here PGD's 20 %); the transfer run alone leaves 65 %, and that is the attack's number.
        const string transfer = "Transfer-PGD-20 from FP";
        var m = Model("vq4", "VQ", 4, 0.9, 0.40, 0.20) with
        {
            Strong = new RobustnessReport
            {
                N = 500, CleanAccuracy = 0.9,
                Attacks = new[] { new AttackResult { Name = transfer, Epsilon = 0.1, RobustAccuracy = 0.20, Cumulative = true } },
            },
            Transfer = new RobustnessReport
            {
                N = 500, CleanAccuracy = 0.9,
                Attacks = new[] { new AttackResult { Name = transfer, Epsilon = 0.1, RobustAccuracy = 0.65 } },
            },
        };
        Assert.Equal(0.65, m.Robust(transfer, 0.1));
        Assert.Equal(0.20, m.Robust("PGD-20", 0.1));
        Assert.Null((m with { Transfer = null }).Robust(transfer, 0.1));
    }

    [Fact]
    public void SpearmanHandlesOrderReversalAndTies()
    {
        Assert.Equal(1.0, Claims.Spearman(new[] { 1.0, 2, 3, 4 }, new[] { 10.0, 20, 30, 40 }), 9);
        Assert.Equal(-1.0, Claims.Spearman(new[] { 1.0, 2, 3, 4 }, new[] { 4.0, 3, 2, 1 }), 9);
        Assert.Equal(0.0, Claims.Spearman(new[] { 1.0, 2, 3 }, new[] { 5.0, 5, 5 }), 9);
        Assert.Equal(0.9487, Claims.Spearman(new[] { 1.0, 2, 3, 4 }, new[] { 1.0, 2, 2, 3 }), 4);
    }

    [Fact]
    public void StoreComputesOnceAndRecomputesAnUnreadableResult()
    {
        var dir = Path.Combine(Path.GetTempPath(), "dq-store-" + Guid.NewGuid().ToString("N"));
        try
        {
            var store = new ResultStore(dir);
            int calls = 0;
            Assert.Equal(0.25, store.GetOrCompute("run.quick", () => { calls++; return 0.25; }));
            Assert.Equal(0.25, new ResultStore(dir).GetOrCompute("run.quick", () => { calls++; return 0.75; })); // a restart reads it back
            Assert.Equal(1, calls);
            File.WriteAllText(store.ResultPath("run.quick"), "{ not json");
            var messages = new List<string>();
            Assert.Equal(0.75, store.GetOrCompute("run.quick", () => { calls++; return 0.75; }, messages.Add));
            Assert.Equal(2, calls);
            Assert.Single(messages);

            // Measurements can live apart from the checkpoints (the sample commits them beside its report); what reads
            // back as the right type counts as stored, anything else as missing.
            var results = Path.Combine(dir, "committed");
            var split = new ResultStore(Path.Combine(dir, "checkpoints"), results);
            Assert.StartsWith(Path.GetFullPath(results), split.ResultPath("run.train"));
            Assert.StartsWith(Path.GetFullPath(Path.Combine(dir, "checkpoints")), split.CheckpointDirectory("run"));
            Assert.Null(split.TryRead<TrainedModel>("run.train"));
            split.GetOrCompute("run.train", () => new TrainedModel
            {
                Id = "run", Label = "FP", Family = "FP", Architecture = "SmallCnn", TrainImages = 10, Epochs = 1, TrainSeconds = 1,
                TestImages = 10, CleanAccuracy = 0.5, Orthogonality = 1,
            });
            Assert.Equal(0.5, split.TryRead<TrainedModel>("run.train")!.CleanAccuracy);
            File.WriteAllText(split.ResultPath("run.train"), "[1, 2]");
            Assert.Null(split.TryRead<TrainedModel>("run.train"));
        }
        finally
        {
            if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
        }
    }
}
