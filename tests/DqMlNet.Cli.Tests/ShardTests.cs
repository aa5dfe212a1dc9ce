using System.Text.Json.Nodes;
using DqMlNet.Cli;
using DqMlNet.Evaluators;

namespace DqMlNet.Tests;

/// <summary>
/// One evaluation of a tiny DQ-4 model (45 images; FGSM, PGD-3 and R+FGSM with random starts, Square with 40 queries, two ε)
/// written once by one process and once as 3 shards in each layout; shared by the sharding tests.
/// </summary>
public sealed class ShardRuns : IDisposable
{
    public static readonly string[] Evaluation =
    {
        "--data", TestData.FixtureDirectory, "--limit", "45", "--attacks", "FGSM,PGD,Square,R+FGSM", "--steps", "3", "--square-queries", "40",
        "--eps", "0.05,0.1", "--seed", "7", "--threads", $"{TestData.Threads}",
    };

    public ShardRuns()
    {
        Model = new TrainedModel();
        Single = Path.Combine(Model.Directory, "single.json");
        Run("evaluate", Model.Zip, "-o", Single);
        foreach (var layout in new[] { "contiguous", "stride" })
            for (int i = 0; i < 3; i++)
                Run("evaluate", Model.Zip, "--shard", $"{i}/3", "--shard-layout", layout, "-o", Shard(layout, i));
    }

    public TrainedModel Model { get; }

    public string Single { get; }

    public string Shard(string layout, int index) => Path.Combine(Model.Directory, $"{layout}-{index}.json");

    private static void Run(params string[] args)
    {
        var (code, _, error) = Cli.Run(args.Concat(Evaluation).ToArray());
        Assert.True(code == ExitCodes.Ok, error);
    }

    public void Dispose() => Model.Dispose();
}

public sealed class ShardTests : IClassFixture<ShardRuns>, IDisposable
{
    private readonly ShardRuns runs;
    private readonly string dir = TestData.TempDirectory();

    public ShardTests(ShardRuns runs) => this.runs = runs;

    public void Dispose() => Directory.Delete(dir, true);

    /// <summary>The report JSON without its one non-deterministic field (wall-clock seconds).</summary>
    internal static string Deterministic(string path)
    {
        var node = JsonNode.Parse(File.ReadAllText(path))!;
        Strip(node);
        return node.ToJsonString();

        static void Strip(JsonNode? n)
        {
            if (n is JsonObject o)
            {
                o.Remove("seconds");
                foreach (var (_, child) in o) Strip(child);
            }
            else if (n is JsonArray a)
            {
                foreach (var child in a) Strip(child);
            }
        }
    }

    [Theory]
    [InlineData("contiguous")]
    [InlineData("stride")]
    public void ThreeShardsMergeToTheSingleProcessReport(string layout)
    {
        var merged = Path.Combine(dir, "merged.json");
        // Given in reverse order: the merge orders rows itself.
        var (code, output, error) = Cli.Run("report", "merge", runs.Shard(layout, 2), runs.Shard(layout, 0), runs.Shard(layout, 1), "-o", merged);
        Assert.True(code == ExitCodes.Ok, error);
        Assert.Contains("Merged 3 shards (45 images", output);
        Assert.True(File.Exists(Path.ChangeExtension(merged, ".md")));
        Assert.Equal(Deterministic(runs.Single), Deterministic(merged));

        // The comparison has teeth: the reports hold per-image verdicts of every attack, a worst case and layers.
        var single = ReportWriter.ReadJson(runs.Single);
        Assert.Equal(3, single.SchemaVersion);
        Assert.Null(single.Shard);
        Assert.Equal(45, single.N);
        Assert.Equal(8, single.Attacks.Count);
        Assert.Equal(Enumerable.Range(0, 45).Select(i => (long)i), single.Images!.Rows);
        Assert.All(single.Images.Attacks, a => Assert.Equal(45, a.Correct.Length));
        Assert.Contains(single.Images.Attacks, a => a.Correct.Contains('0')); // some image was fooled
        Assert.NotNull(single.Images.Attacks.Single(a => a.Name == "Square" && a.Epsilon == 0.1).Queries);
        Assert.NotEmpty(single.Layers);
        Assert.NotEmpty(single.SpectralNorms);
        Assert.Equal(64, single.ModelSha256!.Length);
        Assert.Equal(RobustBound.WorstCase, single.WorstCase[0].Bound);

        // Each shard holds its own rows and its own aggregates.
        var shards = Enumerable.Range(0, 3).Select(i => ReportWriter.ReadJson(runs.Shard(layout, i))).ToList();
        Assert.Equal(45, shards.Sum(s => s.N));
        Assert.All(shards, s => Assert.Equal(45, s.Shard!.TotalRows));
        var expectedRows = layout == "stride" ? new long[] { 1, 4, 7 } : new long[] { 15, 16, 17 };
        Assert.Equal(expectedRows, shards[1].Images!.Rows.Take(3));
        Assert.NotNull(shards[0].Shard!.ProbeWarnings);
        Assert.Null(shards[1].Shard!.ProbeWarnings);
    }

    [Fact]
    public void MergeRefusesMissingAndRepeatedShards()
    {
        string c0 = runs.Shard("contiguous", 0), c1 = runs.Shard("contiguous", 1), c2 = runs.Shard("contiguous", 2);
        var merged = Path.Combine(dir, "merged.json");

        var (code, _, error) = Cli.Run("report", "merge", c0, c1, "-o", merged);
        Assert.Equal(ExitCodes.Data, code);
        Assert.Contains("2/3 missing", error);

        var copy = Path.Combine(dir, "copy-of-0.json");
        File.Copy(c0, copy);
        (code, _, error) = Cli.Run("report", "merge", c0, copy, c1, c2, "-o", merged);
        Assert.Equal(ExitCodes.Data, code);
        Assert.Contains("are both shard 0/3", error);

        // A shard of the other layout covers some rows a second time and is another partition.
        (code, _, error) = Cli.Run("report", "merge", c0, c1, c2, runs.Shard("stride", 0), "-o", merged);
        Assert.Equal(ExitCodes.Data, code);
        Assert.Contains("shard layout differs", error);
        Assert.False(File.Exists(merged));
    }

    [Fact]
    public void MergeRefusesOverlappingRows()
    {
        // Shard 1 edited to claim row 0 (shard 0's) instead of its first row: the sections agree, the rows overlap.
        var node = JsonNode.Parse(File.ReadAllText(runs.Shard("contiguous", 1)))!;
        node["images"]!["rows"]![0] = 0;
        var edited = Path.Combine(dir, "edited-1.json");
        File.WriteAllText(edited, node.ToJsonString());
        var merged = Path.Combine(dir, "merged.json");
        var (code, _, error) = Cli.Run("report", "merge", runs.Shard("contiguous", 0), edited, runs.Shard("contiguous", 2), "-o", merged);
        Assert.Equal(ExitCodes.Data, code);
        Assert.Contains("Row 0 is in both", error);
        Assert.Contains("overlap", error);
        Assert.False(File.Exists(merged));
    }

    [Theory]
    [InlineData("modelSha256", "the model SHA-256 differs")]
    [InlineData("seed", "the seed differs")]
    [InlineData("suite", "the suite differs")]
    [InlineData("totalRows", "the total row count differs")]
    public void MergeRefusesShardsOfAnotherEvaluation(string field, string message)
    {
        var node = JsonNode.Parse(File.ReadAllText(runs.Shard("stride", 2)))!;
        switch (field)
        {
            case "modelSha256": node["modelSha256"] = new string('0', 64); break;
            case "seed": node["seed"] = 8; break;
            case "suite": node["suite"]!["attacks"]![1]!["settings"]![0] = "PGD-5 (LInf, ε = 0.05)"; break;
            case "totalRows": node["shard"]!["totalRows"] = 46; break;
        }
        var other = Path.Combine(dir, "other-2.json");
        File.WriteAllText(other, node.ToJsonString());
        var merged = Path.Combine(dir, "merged.json");
        var (code, _, error) = Cli.Run("report", "merge", runs.Shard("stride", 0), runs.Shard("stride", 1), other, "-o", merged);
        Assert.Equal(ExitCodes.Data, code);
        Assert.Contains(message, error);
        Assert.Contains("other-2.json", error);
        Assert.False(File.Exists(merged));
    }

    [Fact]
    public void MergeNeverOverwritesAnInputOrAnExistingFile()
    {
        string s0 = runs.Shard("stride", 0), s1 = runs.Shard("stride", 1), s2 = runs.Shard("stride", 2);
        var before = File.ReadAllBytes(s0);
        var (code, _, error) = Cli.Run("report", "merge", s0, s1, s2, "-o", s0, "--force");
        Assert.Equal(ExitCodes.Usage, code);
        Assert.Contains("would destroy the input", error);
        Assert.Equal(before, File.ReadAllBytes(s0));

        var existing = Path.Combine(dir, "report.json");
        File.WriteAllText(existing, "keep");
        (code, _, error) = Cli.Run("report", "merge", s0, s1, s2, "-o", existing);
        Assert.Equal(ExitCodes.Usage, code);
        Assert.Contains("--force", error);
        Assert.Equal("keep", File.ReadAllText(existing));
        Assert.Equal(ExitCodes.Ok, Cli.Run("report", "merge", s0, s1, s2, "-o", existing, "--force").Code);
        Assert.Equal(Deterministic(runs.Single), Deterministic(existing));
    }

    [Fact]
    public void ShardReportOfASingleProcessIsNotMergeable()
    {
        var (code, _, error) = Cli.Run("report", "merge", runs.Single, "-o", Path.Combine(dir, "m.json"));
        Assert.Equal(ExitCodes.Data, code);
        Assert.Contains("is not a shard report", error);
    }
}

public sealed class ShardOptionTests
{
    private static Func<string, string?> Env(params (string Name, string Value)[] vars) =>
        name => vars.FirstOrDefault(v => v.Name == name).Value;

    [Fact]
    public void ShardIndexComesFromTheCommandLineOrTheEngine()
    {
        Assert.Equal(new EvaluationShard(2, 8), ShardOption.Parse("2/8", "contiguous", Env()));
        Assert.Equal(new EvaluationShard(3, 4, ShardLayout.Stride), ShardOption.Parse("auto/4", "stride", Env(("JOB_COMPLETION_INDEX", "3"))));
        Assert.Equal(new EvaluationShard(1, 4), ShardOption.Parse("auto/4", "contiguous", Env(("SLURM_ARRAY_TASK_ID", "1"))));
        Assert.Equal(new EvaluationShard(0, 2), ShardOption.Parse("env:TASK/2", "contiguous", Env(("TASK", "0"))));
    }

    [Theory]
    [InlineData("3", "is not i/N")]
    [InlineData("1/0", "is not i/N")]
    [InlineData("4/4", "not below the shard count 4")]
    [InlineData("-1/4", "not a non-negative integer")]
    [InlineData("auto/4", "none of JOB_COMPLETION_INDEX")]
    [InlineData("env:NOPE/4", "NOPE is not set")]
    public void BadShardsAreUsageErrors(string text, string message)
    {
        var ex = Assert.Throws<CliException>(() => ShardOption.Parse(text, "contiguous", Env()));
        Assert.Equal(ExitCodes.Usage, ex.ExitCode);
        Assert.Contains(message, ex.Message);
    }

    [Fact]
    public void DisagreeingEngineVariablesAreRefused()
    {
        var ex = Assert.Throws<CliException>(() => ShardOption.Parse("auto/4", "contiguous", Env(("JOB_COMPLETION_INDEX", "1"), ("SLURM_ARRAY_TASK_ID", "2"))));
        Assert.Contains("disagree", ex.Message);
    }

    [Theory]
    [InlineData(ShardLayout.Contiguous)]
    [InlineData(ShardLayout.Stride)]
    public void ShardsPartitionTheRows(ShardLayout layout)
    {
        foreach (int total in new[] { 0, 1, 7, 45 })
            foreach (int count in new[] { 1, 3, 8 })
            {
                var all = Enumerable.Range(0, count).SelectMany(i => new EvaluationShard(i, count, layout).Rows(total)).OrderBy(r => r).ToList();
                Assert.Equal(Enumerable.Range(0, total).Select(r => (long)r), all);
            }
        Assert.Throws<ArgumentOutOfRangeException>(() => new EvaluationShard(3, 3, layout).Validate());
        Assert.Throws<ArgumentOutOfRangeException>(() => new RobustnessOptions { Shard = new EvaluationShard(0, 0) }.Validate());
    }

    [Fact]
    public void CudaWithoutCudaIsAClearError()
    {
        if (TorchSharp.torch.cuda.is_available()) return; // a GPU machine runs the shards on it instead
        var ex = Assert.Throws<ArgumentException>(() => new RobustnessOptions { Device = "cuda" }.Validate());
        Assert.Contains("CUDA is not available", ex.Message);
        var (code, _, error) = Cli.Run("evaluate", Path.Combine(TestData.FixtureDirectory, "t10k-labels-idx1-ubyte.gz"), "--device", "cuda");
        Assert.Equal(ExitCodes.Usage, code);
        Assert.Contains("TorchSharp", error);
    }
}
