using System.CommandLine;
using System.Globalization;
using DqMlNet.Evaluators;

namespace DqMlNet.Cli;

/// <summary>
/// <c>--shard i/N</c>: which shard of an evaluation this process runs. The index may come from the batch engine:
/// <c>auto/N</c> reads the first index variable that is set — JOB_COMPLETION_INDEX (Kubernetes Indexed Job),
/// SLURM_ARRAY_TASK_ID (Slurm job array, run with --array=0-(N−1)), AWS_BATCH_JOB_ARRAY_INDEX (AWS Batch array job) —
/// and <c>env:NAME/N</c> reads any variable holding a zero-based index.
/// </summary>
internal static class ShardOption
{
    /// <summary>The index variables <c>auto</c> reads, in order.</summary>
    public static readonly string[] EngineVariables = { "JOB_COMPLETION_INDEX", "SLURM_ARRAY_TASK_ID", "AWS_BATCH_JOB_ARRAY_INDEX" };

    public static Option<string?> Create() => new("--shard")
    {
        Description = "Evaluate only shard i of N of the rows (0-based), e.g. 2/8; auto/8 takes i from the batch engine " +
                      "(JOB_COMPLETION_INDEX, SLURM_ARRAY_TASK_ID or AWS_BATCH_JOB_ARRAY_INDEX), env:NAME/8 from variable NAME. " +
                      "Writes a shard report (per-image outcomes) for dq report merge; default output <model>.robustness.shard-i-of-N.json.",
    };

    public static Option<string> LayoutOption()
    {
        var option = new Option<string>("--shard-layout")
        {
            Description = "How rows are dealt to shards: contiguous (blocks of consecutive rows) or stride (every N-th row).",
            DefaultValueFactory = _ => "contiguous",
        };
        option.AcceptOnlyFromAmong("contiguous", "stride");
        return option;
    }

    /// <summary>Parses "i/N", "auto/N" or "env:NAME/N"; throws a usage <see cref="CliException"/> naming the fix.</summary>
    public static EvaluationShard Parse(string text, string layout, Func<string, string?>? environment = null)
    {
        environment ??= Environment.GetEnvironmentVariable;
        int slash = text.LastIndexOf('/');
        if (slash <= 0 || !int.TryParse(text.AsSpan(slash + 1), NumberStyles.None, CultureInfo.InvariantCulture, out int count) || count < 1)
            throw Usage($"--shard '{text}' is not i/N: give a shard index and a positive shard count, e.g. --shard 0/4, --shard auto/4 or --shard env:TASK_INDEX/4.");
        string index = text[..slash];
        string source;
        if (index.Equals("auto", StringComparison.OrdinalIgnoreCase))
        {
            var set = EngineVariables.Select(v => (Name: v, Value: environment(v))).Where(v => !string.IsNullOrWhiteSpace(v.Value)).ToList();
            if (set.Count == 0)
                throw Usage($"--shard {text}: none of {string.Join(", ", EngineVariables)} is set, so the shard index is unknown. " +
                            "Run under a batch engine that sets one, or give the index (--shard 0/" + count + ").");
            if (set.Select(v => v.Value!.Trim()).Distinct().Count() > 1)
                throw Usage($"--shard {text}: the index variables disagree ({string.Join(", ", set.Select(v => $"{v.Name}={v.Value}"))}); " +
                            "name one with --shard env:NAME/" + count + ".");
            (source, index) = (set[0].Name, set[0].Value!.Trim());
        }
        else if (index.StartsWith("env:", StringComparison.OrdinalIgnoreCase))
        {
            source = index[4..];
            index = environment(source)?.Trim() ?? throw Usage($"--shard {text}: the variable {source} is not set.");
        }
        else
        {
            source = "";
        }
        if (!int.TryParse(index, NumberStyles.None, CultureInfo.InvariantCulture, out int i))
            throw Usage($"--shard {text}: the index '{index}'{(source.Length > 0 ? $" (from {source})" : "")} is not a non-negative integer.");
        if (i >= count)
            throw Usage($"--shard {text}: index {i}{(source.Length > 0 ? $" (from {source})" : "")} is not below the shard count {count}; " +
                        $"shards are numbered 0 to {count - 1} (a Slurm array must be --array=0-{count - 1}).");
        return new EvaluationShard(i, count, layout == "stride" ? ShardLayout.Stride : ShardLayout.Contiguous);
    }

    private static CliException Usage(string message) => new(ExitCodes.Usage, message);
}
