using System.Text.Json.Serialization;

namespace DqMlNet.Evaluators;

/// <summary>
/// Per-image outcomes behind every aggregate of a report, one entry per evaluated row, in ascending global row order.
/// The aggregates (accuracies, success rates, mean and largest perturbation, queries, worst case, error amplification)
/// are computed from these values in row order, so reports of shards merge into exactly the numbers of one run.
/// </summary>
public sealed record ImageResults
{
    /// <summary>Global row index of each evaluated image in the (limit-capped) data.</summary>
    [JsonConverter(typeof(CompactArrayConverter<long>))]
    public long[] Rows { get; init; } = Array.Empty<long>();

    /// <summary>One character per row: '1' the clean image is classified correctly, '0' not.</summary>
    public string CleanCorrect { get; init; } = "";

    /// <summary>One entry per (ε, attack), in the order of <see cref="RobustnessReport.Attacks"/>.</summary>
    public IReadOnlyList<ImageAttackResults> Attacks { get; init; } = Array.Empty<ImageAttackResults>();

    /// <summary>Per activation layer: each image's error amplification (empty when it was not measured).</summary>
    public IReadOnlyList<ImageLayerResults> Amplification { get; init; } = Array.Empty<ImageLayerResults>();
}

/// <summary>What one attack at one ε did to each image.</summary>
public sealed record ImageAttackResults
{
    /// <summary>The attack's name.</summary>
    public string Name { get; init; } = "";

    /// <summary>Budget.</summary>
    public double Epsilon { get; init; }

    /// <summary>
    /// One character per row: '1' still classified correctly after the attack (robust), '0' misclassified (fooled, or
    /// already wrong when clean), '-' not attacked (in a cascade: an earlier attack at this ε already fooled it, or it was
    /// wrong when clean). The per-ε worst case is robust only where the clean image is correct and every attack says '1'.
    /// </summary>
    public string Correct { get; init; } = "";

    /// <summary>Perturbation norm ‖x' − x‖ (in the attack's norm) per row; null where the image was not attacked.</summary>
    [JsonConverter(typeof(CompactArrayConverter<double?>))]
    public double?[] Perturbation { get; init; } = Array.Empty<double?>();

    /// <summary>Model queries per row (score-based attacks), null where not attacked; null for attacks that do not count queries.</summary>
    [JsonConverter(typeof(CompactArrayConverter<long?>))]
    public long?[]? Queries { get; init; }
}

/// <summary>Error amplification of one activation layer per image.</summary>
public sealed record ImageLayerResults
{
    /// <summary>Layer name.</summary>
    public string Layer { get; init; } = "";

    /// <summary>‖a(x) − a(x')‖₂ / ‖a(x)‖₂ per row; null where the clean activation is all zero (no defined ratio).</summary>
    [JsonConverter(typeof(CompactArrayConverter<double?>))]
    public double?[] Ratios { get; init; } = Array.Empty<double?>();
}
