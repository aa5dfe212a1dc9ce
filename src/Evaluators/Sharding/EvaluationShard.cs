using System.Globalization;

namespace DqMlNet.Evaluators;

/// <summary>
/// One shard of a robustness evaluation: shard <see cref="Index"/> of <see cref="Count"/> evaluates only its rows of the
/// (<see cref="RobustnessOptions.Limit"/>-capped) data, each under its global row index, so every random choice an
/// attack makes for an image is the one the whole run makes. The shards' reports merge
/// (<see cref="RobustnessShards.Merge"/>) into the report one process evaluating every row writes.
/// </summary>
/// <param name="Index">Zero-based shard number, in [0, <paramref name="Count"/>).</param>
/// <param name="Count">Number of shards (at least 1).</param>
/// <param name="Layout">How rows are dealt: consecutive blocks or every N-th row.</param>
public readonly record struct EvaluationShard(int Index, int Count, ShardLayout Layout = ShardLayout.Contiguous)
{
    /// <summary>Throws an <see cref="ArgumentOutOfRangeException"/> naming the fix when the shard is impossible.</summary>
    public void Validate()
    {
        if (Count < 1)
            throw new ArgumentOutOfRangeException(nameof(Count), Count, "A shard count must be at least 1 (e.g. new EvaluationShard(0, 4) for the first of four shards).");
        if (Index < 0 || Index >= Count)
            throw new ArgumentOutOfRangeException(nameof(Index), Index,
                $"Shard index {Index} is outside [0, {Count}): shards are numbered from 0 to count − 1 (e.g. 0/{Count} … {Count - 1}/{Count}).");
        if (!Enum.IsDefined(Layout))
            throw new ArgumentOutOfRangeException(nameof(Layout), Layout, "Unknown shard layout: use Contiguous or Stride.");
    }

    /// <summary>The global row indices of this shard among <paramref name="total"/> rows, ascending (possibly none).</summary>
    public long[] Rows(int total)
    {
        Validate();
        ArgumentOutOfRangeException.ThrowIfNegative(total);
        if (Layout == ShardLayout.Stride)
        {
            var rows = new List<long>(total / Count + 1);
            for (long r = Index; r < total; r += Count) rows.Add(r);
            return rows.ToArray();
        }
        // 64-bit products: i·n cannot overflow for any int pair.
        long start = (long)Index * total / Count, end = (long)(Index + 1) * total / Count;
        var block = new long[end - start];
        for (long r = start; r < end; r++) block[r - start] = r;
        return block;
    }

    /// <summary>"i/N" (and the layout when it is not contiguous), the form <c>dq evaluate --shard</c> takes.</summary>
    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture, $"{Index}/{Count}") + (Layout == ShardLayout.Contiguous ? "" : $" ({Layout.ToString().ToLowerInvariant()})");
}
