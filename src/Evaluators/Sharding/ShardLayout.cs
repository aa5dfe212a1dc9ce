using System.Text.Json.Serialization;

namespace DqMlNet.Evaluators;

/// <summary>How the rows of an evaluation are dealt to shards.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<ShardLayout>))]
public enum ShardLayout
{
    /// <summary>Shard i of N takes one block of consecutive rows: [⌊i·n/N⌋, ⌊(i+1)·n/N⌋).</summary>
    Contiguous,

    /// <summary>Shard i of N takes every N-th row starting at i (rows r with r mod N = i): hard and easy images mix evenly.</summary>
    Stride,
}
