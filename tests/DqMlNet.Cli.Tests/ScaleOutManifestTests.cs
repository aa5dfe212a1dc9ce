using System.Diagnostics;
using DqMlNet.Cli;
using YamlDotNet.RepresentationModel;

namespace DqMlNet.Tests;

/// <summary>
/// The Kubernetes manifests of docs/scale-out run as written: every completion index of the Indexed Job runs the Job's
/// dq command as a real process (mounted paths replaced by the fixture's, JOB_COMPLETION_INDEX set and substituted as
/// Kubernetes does, the attack budgets scaled down), then the merge Job's shell command runs; the merged report equals
/// the report of one process evaluating every row.
/// </summary>
public sealed class ScaleOutManifestTests : IClassFixture<TrainedModel>, IDisposable
{
    private readonly TrainedModel model;
    private readonly string dir = TestData.TempDirectory();

    public ScaleOutManifestTests(TrainedModel model) => this.model = model;

    public void Dispose() => Directory.Delete(dir, true);

    private static string Manifest(string name) => Path.Combine(AppContext.BaseDirectory, "scale-out", name);

    private static YamlMappingNode Load(string name)
    {
        var yaml = new YamlStream();
        using var reader = new StreamReader(Manifest(name));
        yaml.Load(reader);
        return (YamlMappingNode)yaml.Documents.Single().RootNode;
    }

    private static YamlNode At(YamlNode node, params string[] path) =>
        path.Aggregate(node, (n, key) => ((YamlMappingNode)n).Children[new YamlScalarNode(key)]);

    private static string Scalar(YamlNode node, params string[] path) => ((YamlScalarNode)At(node, path)).Value!;

    private static YamlMappingNode Container(YamlNode job) => (YamlMappingNode)((YamlSequenceNode)At(job, "spec", "template", "spec", "containers")).Children.Single();

    /// <summary>Mount path → the local folder standing in for the volume.</summary>
    private static Dictionary<string, string> Mounts(YamlMappingNode container, Dictionary<string, string> volumes) =>
        ((YamlSequenceNode)At(container, "volumeMounts")).Children.ToDictionary(m => Scalar(m, "mountPath"), m => volumes[Scalar(m, "name")]);

    private static string Substitute(string arg, Dictionary<string, string> mounts)
    {
        foreach (var (mount, local) in mounts)
        {
            if (arg == mount) return local;
            if (arg.StartsWith(mount + "/", StringComparison.Ordinal)) return local + arg[mount.Length..];
        }
        return arg;
    }

    [Fact]
    public void IndexedJobShardsAndTheMergeJobGiveTheSingleProcessReport()
    {
        var models = Directory.CreateDirectory(Path.Combine(dir, "models")).FullName;
        var shards = Directory.CreateDirectory(Path.Combine(dir, "shards")).FullName;
        File.Copy(model.Zip, Path.Combine(models, "model.zip"));
        var volumes = new Dictionary<string, string> { ["models"] = models, ["data"] = TestData.FixtureDirectory, ["shards"] = shards };

        var job = Load("evaluate-job.yaml");
        Assert.Equal("Indexed", Scalar(job, "spec", "completionMode"));
        int completions = int.Parse(Scalar(job, "spec", "completions"), System.Globalization.CultureInfo.InvariantCulture);
        var container = Container(job);
        var mounts = Mounts(container, volumes);
        foreach (var m in ((YamlSequenceNode)At(container, "volumeMounts")).Children.Where(m => Scalar(m, "name") != "shards"))
            Assert.Equal("true", Scalar(m, "readOnly")); // model and data are mounted read-only
        var args = ((YamlSequenceNode)At(container, "args")).Children.Select(a => ((YamlScalarNode)a).Value!).ToList();
        Assert.Equal("evaluate", args[0]);
        Assert.Equal($"auto/{completions}", args[args.IndexOf("--shard") + 1]);

        // Budgets scaled down for a test; everything else (paths, ε, seed, layout, threads) as the manifest says.
        var scaled = Override(args.Select(a => Substitute(a, mounts)).ToList(),
            ("--limit", "24"), ("--attacks", "FGSM,PGD,Square"), ("--steps", "2"), ("--square-queries", "20"), ("--threads", $"{TestData.Threads}"));
        // Like the Job's parallelism, several shard processes at once (most of a tiny shard's time is process start-up).
        var results = new (int Code, string Error)[completions];
        Parallel.For(0, completions, new ParallelOptions { MaxDegreeOfParallelism = 4 }, i =>
        {
            var shardArgs = scaled.Select(a => a.Replace("$(JOB_COMPLETION_INDEX)", $"{i}")).ToList();
            results[i] = RunProcess("dotnet", new[] { DqDll }.Concat(shardArgs), ("JOB_COMPLETION_INDEX", $"{i}"));
        });
        for (int i = 0; i < completions; i++) Assert.True(results[i].Code == ExitCodes.Ok, $"shard {i}: {results[i].Error}");
        Assert.Equal(completions, Directory.GetFiles(shards, "shard-*.json").Length);

        var merge = Load("merge-job.yaml");
        var mergeContainer = Container(merge);
        var mergeMounts = Mounts(mergeContainer, volumes);
        var shell = ((YamlSequenceNode)At(mergeContainer, "command")).Children.Select(c => ((YamlScalarNode)c).Value!).ToList();
        Assert.Equal(new[] { "sh", "-c" }, shell);
        var script = ((YamlScalarNode)((YamlSequenceNode)At(mergeContainer, "args")).Children.Single()).Value!;
        foreach (var (mount, local) in mergeMounts) script = script.Replace(mount + "/", local + "/");
        script = script.Replace("/app/dq.dll", DqDll);
        var (mergeCode, mergeError) = RunProcess("sh", new[] { "-c", script });
        Assert.True(mergeCode == ExitCodes.Ok, mergeError);

        // The same evaluation in one process (no --shard), in-process.
        var single = Path.Combine(dir, "single.json");
        var whole = Override(scaled, ("-o", single));
        int shardAt = whole.IndexOf("--shard");
        whole.RemoveRange(shardAt, 2);
        whole.RemoveRange(whole.IndexOf("--shard-layout"), 2);
        var (singleCode, _, singleError) = Cli.Run(whole.ToArray());
        Assert.True(singleCode == ExitCodes.Ok, singleError);
        Assert.Equal(ShardTests.Deterministic(single), ShardTests.Deterministic(Path.Combine(shards, "report.json")));
    }

    [Fact]
    public void SlurmScriptRunsOneShardPerArrayTask()
    {
        var script = File.ReadAllText(Manifest("evaluate-array.sh"));
        Assert.Contains("#SBATCH --array=0-7", script);
        Assert.Contains("SHARDS=8", script);
        Assert.Contains("--shard \"auto/${SHARDS}\"", script);
        Assert.Contains("shard-${SLURM_ARRAY_TASK_ID}.json", script);
        var (code, error) = RunProcess("bash", new[] { "-n", Manifest("evaluate-array.sh") });
        Assert.True(code == 0, error);
    }

    private static string DqDll => Path.Combine(AppContext.BaseDirectory, "dq.dll");

    private static List<string> Override(List<string> args, params (string Option, string Value)[] values)
    {
        var result = new List<string>(args);
        foreach (var (option, value) in values)
        {
            int at = result.IndexOf(option);
            if (at >= 0) result[at + 1] = value;
            else result.AddRange(new[] { option, value });
        }
        return result;
    }

    private static (int Code, string Error) RunProcess(string file, IEnumerable<string> args, params (string Name, string Value)[] environment)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) start.ArgumentList.Add(a);
        foreach (var (name, value) in environment) start.Environment[name] = value;
        start.Environment["OMP_WAIT_POLICY"] = "PASSIVE";
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        process.WaitForExit();
        return (process.ExitCode, stderr.Result + stdout.Result);
    }
}
