using System.Text.Json;
using System.Text.Json.Serialization;
using DqMlNet.Quantization;

namespace DqMlNet.Models;

/// <summary>
/// Everything needed to rebuild a model's structure: architecture, input shape, classes, mode and bit widths,
/// normalisation. Saved with checkpoints and exported models.
/// </summary>
public sealed record ModelSpec
{
    /// <summary>Network family.</summary>
    public Architecture Architecture { get; init; } = Architecture.SmallCnn;

    /// <summary>FP, VQ or DQ. VQ and DQ build the same network; DQ differs in training (β).</summary>
    public TrainingMode Mode { get; init; } = TrainingMode.FullPrecision;

    /// <summary>Activation bits k for VQ/DQ (ignored in FP mode).</summary>
    public int ActivationBits { get; init; } = 4;

    /// <summary>Weight bits for per-channel weight fake quantization, or null for float weights (the paper's setting).</summary>
    public int? WeightBits { get; init; }

    /// <summary>Input channels (1 for MNIST-like, 3 for CIFAR/SVHN).</summary>
    public int Channels { get; init; } = 1;

    /// <summary>Input height in pixels.</summary>
    public int Height { get; init; } = 28;

    /// <summary>Input width in pixels.</summary>
    public int Width { get; init; } = 28;

    /// <summary>Number of classes.</summary>
    public int NumClasses { get; init; } = 10;

    /// <summary>Per-channel mean of the first-layer normalisation (pixel scale [0, 1]).</summary>
    public float[] Mean { get; init; } = { 0.5f };

    /// <summary>Per-channel std of the first-layer normalisation (pixel scale [0, 1]).</summary>
    public float[] Std { get; init; } = { 0.5f };

    /// <summary>Depth: VGG 11/13/16/19, WRN 6n+4 (e.g. 16, 28). Ignored by SmallCnn.</summary>
    public int Depth { get; init; } = 16;

    /// <summary>Width: VGG channel multiplier (1 = standard), WRN widen factor k. Ignored by SmallCnn.</summary>
    public double WidthFactor { get; init; } = 1;

    /// <summary>BatchNorm after each convolution in SmallCnn (VGG-BN and WRN always have it).</summary>
    public bool BatchNorm { get; init; }

    /// <summary>Whether activations are quantized (VQ and DQ).</summary>
    [JsonIgnore]
    public bool IsQuantized => Mode != TrainingMode.FullPrecision;

    /// <summary>Input shape [C, H, W].</summary>
    [JsonIgnore]
    public long[] InputShape => new long[] { Channels, Height, Width };

    /// <summary>Throws an <see cref="ArgumentException"/> naming the first invalid field and how to fix it.</summary>
    public void Validate()
    {
        if (Channels < 1 || Height < 1 || Width < 1)
            throw new ArgumentException($"Input shape must be positive (got C={Channels}, H={Height}, W={Width}).");
        if (NumClasses < 2)
            throw new ArgumentException($"A classifier needs at least 2 classes (got {NumClasses}).");
        if (IsQuantized) ActivationQuantizer.ValidateBits(ActivationBits, nameof(ActivationBits));
        if (WeightBits is int wb) WeightQuantizer.ValidateBits(wb, nameof(WeightBits));
        if (Mean.Length != Channels || Std.Length != Channels)
            throw new ArgumentException(
                $"Normalisation needs one mean and one std per input channel: {Channels} channel(s), got {Mean.Length} mean(s) " +
                $"and {Std.Length} std(s). Set ModelSpec.Mean and ModelSpec.Std.");
        if (Std.Any(s => !(s > 0)))
            throw new ArgumentException("Every normalisation std must be positive.");
        switch (Architecture)
        {
            case Architecture.Vgg when Depth is not (11 or 13 or 16 or 19):
                throw new ArgumentException($"VGG depth must be 11, 13, 16 or 19 (got {Depth}).");
            case Architecture.WideResNet when Depth < 10 || (Depth - 4) % 6 != 0:
                throw new ArgumentException($"Wide ResNet depth must be 6n + 4 with n ≥ 1, e.g. 16 or 28 (got {Depth}).");
            case Architecture.SmallCnn when Height < 4 || Width < 4:
                throw new ArgumentException($"SmallCnn needs images of at least 4×4 pixels (got {Height}×{Width}).");
        }
        if (Architecture != Architecture.SmallCnn && !(WidthFactor > 0))
            throw new ArgumentException($"WidthFactor must be positive (got {WidthFactor}).");
    }

    /// <summary>Serialises to indented JSON (camelCase, enums as names).</summary>
    public string ToJson() => JsonSerializer.Serialize(this, JsonOptions);

    /// <summary>Reads a spec written by <see cref="ToJson"/>.</summary>
    public static ModelSpec FromJson(string json) =>
        JsonSerializer.Deserialize<ModelSpec>(json, JsonOptions)
        ?? throw new InvalidDataException("Model spec JSON is empty.");

    internal static readonly JsonSerializerOptions JsonOptions = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        WriteIndented = false,
        Converters = { new JsonStringEnumConverter() },
    };

    /// <summary>Value equality including the normalisation arrays.</summary>
    public bool Equals(ModelSpec? other) => other is not null && ToJson() == other.ToJson();

    /// <inheritdoc />
    public override int GetHashCode() => ToJson().GetHashCode(StringComparison.Ordinal);
}
