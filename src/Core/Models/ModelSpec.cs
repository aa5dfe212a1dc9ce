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

    /// <summary>Most input channels a spec may declare.</summary>
    public const int MaxChannels = 64;

    /// <summary>Largest input height or width in pixels.</summary>
    public const int MaxImageSide = 4096;

    /// <summary>Most classes a spec may declare.</summary>
    public const int MaxClasses = 100_000;

    /// <summary>Largest depth (VGG: 19; Wide ResNet: 6n + 4).</summary>
    public const int MaxDepth = 1000;

    /// <summary>Largest width factor (VGG multiplier or WRN widen factor).</summary>
    public const double MaxWidthFactor = 64;

    /// <summary>
    /// Most conv and linear weights (<see cref="WeightCount"/>) a spec may describe: 200 M, 800 MB as float32, about five
    /// times WRN-28-10. A spec read from a file is checked against this before any tensor is allocated.
    /// </summary>
    public const long MaxWeights = 200_000_000;

    /// <summary>
    /// Throws an <see cref="ArgumentException"/> naming the first invalid field and how to fix it. Every field has an
    /// upper bound too, because specs are also read from files (ONNX metadata, model zips, checkpoints) and a model is
    /// built from them: an edited spec must not make LibTorch allocate gigabytes.
    /// </summary>
    public void Validate()
    {
        if (Channels < 1 || Height < 1 || Width < 1)
            throw new ArgumentException($"Input shape must be positive (got C={Channels}, H={Height}, W={Width}).");
        if (Channels > MaxChannels)
            throw new ArgumentException($"Channels = {Channels} exceeds the limit of {MaxChannels} input channels.");
        if (Height > MaxImageSide || Width > MaxImageSide)
            throw new ArgumentException($"Height × Width = {Height}×{Width} exceeds the limit of {MaxImageSide} pixels per side; resize the images.");
        if (NumClasses < 2)
            throw new ArgumentException($"A classifier needs at least 2 classes (got {NumClasses}).");
        if (NumClasses > MaxClasses)
            throw new ArgumentException($"NumClasses = {NumClasses} exceeds the limit of {MaxClasses} classes.");
        if (Architecture != Architecture.SmallCnn && (Depth < 1 || Depth > MaxDepth))
            throw new ArgumentException($"Depth must be in 1..{MaxDepth} (got {Depth}).");
        if (Architecture != Architecture.SmallCnn && (!(WidthFactor > 0) || WidthFactor > MaxWidthFactor))
            throw new ArgumentException($"WidthFactor must be in (0, {MaxWidthFactor}] (got {WidthFactor}).");
        if (Mean is null || Std is null)
            throw new ArgumentException("ModelSpec.Mean and ModelSpec.Std must be set (one value per input channel).");
        if (Mean.Any(m => !float.IsFinite(m)) || Std.Any(s => !float.IsFinite(s)))
            throw new ArgumentException("Every normalisation mean and std must be a finite number.");
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
        if (!Enum.IsDefined(Architecture)) throw new ArgumentException($"Unknown architecture {(int)Architecture}.");
        if (!Enum.IsDefined(Mode)) throw new ArgumentException($"Unknown training mode {(int)Mode}.");
        long weights = WeightCount();
        if (weights > MaxWeights)
            throw new ArgumentException(
                $"This {Architecture} spec (depth {Depth}, width {WidthFactor}, input {Channels}×{Height}×{Width}, {NumClasses} classes) " +
                $"has {weights:N0} weights, more than the limit of {MaxWeights:N0}. Use a smaller width, depth or input.");
    }

    /// <summary>
    /// The number of convolution and linear weights (kernels and matrices, without biases and BatchNorm) the spec's model
    /// has, computed from the spec alone, without building it. Saturates at <see cref="long.MaxValue"/>.
    /// </summary>
    public long WeightCount()
    {
        try
        {
            return checked(Architecture switch
            {
                Architecture.SmallCnn => SmallCnnWeights(),
                Architecture.Vgg => VggWeights(),
                Architecture.WideResNet => WideResNetWeights(),
                _ => 0,
            });
        }
        catch (OverflowException)
        {
            return long.MaxValue;
        }
    }

    // The three formulas mirror the constructors of SmallCnn, Vgg and WideResNet (a test compares them with built models).
    private long SmallCnnWeights()
    {
        long flat = checked(64L * (Height / 4) * (Width / 4));
        return checked(Channels * 32L * 9 + 32L * 64 * 9 + flat * 256 + 256L * NumClasses);
    }

    private long VggWeights()
    {
        int[] config = Depth switch
        {
            11 => new[] { 64, 0, 128, 0, 256, 256, 0, 512, 512, 0, 512, 512, 0 },
            13 => new[] { 64, 64, 0, 128, 128, 0, 256, 256, 0, 512, 512, 0, 512, 512, 0 },
            16 => new[] { 64, 64, 0, 128, 128, 0, 256, 256, 256, 0, 512, 512, 512, 0, 512, 512, 512, 0 },
            _ => new[] { 64, 64, 0, 128, 128, 0, 256, 256, 256, 256, 0, 512, 512, 512, 512, 0, 512, 512, 512, 512, 0 },
        };
        long channels = Channels, total = 0;
        foreach (int c in config)
        {
            if (c == 0) continue;
            long width = Math.Max(1, (long)Math.Round(c * WidthFactor));
            total = checked(total + channels * width * 9);
            channels = width;
        }
        return checked(total + channels * NumClasses);
    }

    private long WideResNetWeights()
    {
        long n = Math.Max(1, (Depth - 4) / 6);
        long k = Math.Max(1, (long)Math.Round(WidthFactor));
        long[] widths = { 16, 16 * k, 32 * k, 64 * k };
        long total = checked(Channels * widths[0] * 9), inWidth = widths[0];
        for (int g = 0; g < 3; g++)
        {
            for (long b = 0; b < n; b++)
            {
                long outWidth = widths[g + 1];
                bool projection = inWidth != outWidth || (b == 0 && g > 0);
                total = checked(total + inWidth * outWidth * 9 + outWidth * outWidth * 9 + (projection ? inWidth * outWidth : 0));
                inWidth = outWidth;
            }
        }
        return checked(total + inWidth * NumClasses);
    }

    /// <summary>
    /// Serialises to compact single-line JSON (camelCase, enums as names). Compact on purpose: the text is stored in ONNX
    /// metadata and checkpoints and compared for equality, so its bytes must not depend on formatting.
    /// </summary>
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
