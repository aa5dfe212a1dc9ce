namespace DqMlNet.Evaluators;

/// <summary>
/// Present only in the report of one shard (<see cref="RobustnessOptions.Shard"/>): which part of which evaluation it
/// holds, and the parts of the whole run only the first shard computes. A merged report has none.
/// </summary>
public sealed record ShardSection
{
    /// <summary>Zero-based shard number.</summary>
    public int Index { get; init; }

    /// <summary>Number of shards.</summary>
    public int Count { get; init; }

    /// <summary>How rows were dealt to shards.</summary>
    public ShardLayout Layout { get; init; }

    /// <summary>Rows of the whole evaluation (the limit-capped data); the shard's own rows are <see cref="ImageResults.Rows"/>.</summary>
    public int TotalRows { get; init; }

    /// <summary>
    /// Warnings of the gradient-masking probes, which run on the first rows of the whole evaluation: computed by shard 0
    /// only (null in every other shard, and when the checks are off).
    /// </summary>
    public IReadOnlyList<string>? ProbeWarnings { get; init; }
}
