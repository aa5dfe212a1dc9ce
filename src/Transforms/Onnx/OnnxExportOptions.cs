namespace DqMlNet.Transforms.Onnx;

/// <summary>How <see cref="OnnxExporter"/> writes a model.</summary>
public sealed record OnnxExportOptions
{
    /// <summary>
    /// For VQ/DQ models: store convolution and linear weights as int8 per output channel (symmetric, zero point 0)
    /// followed by <c>DequantizeLinear(axis = 0)</c>. True by default; false writes float weights (still the
    /// fake-quantized values if the model was trained with <c>WeightBits</c>). Full-precision models always get float
    /// weights.
    /// </summary>
    public bool QuantizeWeights { get; init; } = true;

    /// <summary>
    /// With <see cref="QuantizeWeights"/>: also store int8 weights for layers that ONNX Runtime cannot run as integer
    /// kernels — a convolution whose input is not quantized (the first one, on the normalised image) or whose output is
    /// not quantized (one feeding a residual <c>Add</c>), a linear layer after global average pooling. False by default:
    /// those layers store exactly the dequantized weight values as float (and a float bias), which ONNX Runtime folds
    /// into its fastest float convolution instead of dequantizing them on every call; it costs file size (for WRN, its
    /// residual convolutions). True writes the smallest file.
    /// </summary>
    public bool IntegerWeightsOnly { get; init; }

    /// <summary>
    /// With <see cref="QuantizeWeights"/>, for residual networks (WRN): put each residual sum, the convolutions feeding it
    /// and an identity shortcut on one uint8 grid per block (<c>QuantizeLinear</c>/<c>DequantizeLinear</c>), so ONNX
    /// Runtime runs them as <c>QLinearConv</c> and <c>QLinearAdd</c> instead of float convolutions. False by default,
    /// because it is an approximation: the model adds in float, and the grid (mean ± 8 standard deviations per channel
    /// of the consuming BatchNorm's running statistics, 255 steps) rounds the residual stream to half a step. It changed
    /// 2–3 % of the predicted labels on the test fixtures (about as many as 8-bit weights do) without lowering accuracy;
    /// docs/onnx.md has the numbers. Networks without residual sums are written identically either way.
    /// </summary>
    public bool QuantizeResiduals { get; init; }

    /// <summary>Weight bits used for layers trained without weight quantization (2..8, default 8).</summary>
    public int DefaultWeightBits { get; init; } = 8;

    /// <summary>Also output the pre-softmax <c>logits</c> (after <c>probabilities</c>). True by default.</summary>
    public bool IncludeLogits { get; init; } = true;

    /// <summary>The Lipschitz regulariser β the model was trained with, recorded in the metadata if given.</summary>
    public double? Beta { get; init; }

    /// <summary>Class names recorded in the metadata (one per class), if given.</summary>
    public IReadOnlyList<string>? ClassNames { get; init; }

    /// <summary>Graph name inside the ONNX file.</summary>
    public string GraphName { get; init; } = "dqmlnet";

    /// <summary>Throws an <see cref="ArgumentException"/> for invalid options.</summary>
    public void Validate(int numClasses)
    {
        if (DefaultWeightBits is < 2 or > 8)
            throw new ArgumentOutOfRangeException(nameof(DefaultWeightBits), DefaultWeightBits,
                "Exported weights are int8: DefaultWeightBits must be between 2 and 8.");
        if (ClassNames is not null && ClassNames.Count != numClasses)
            throw new ArgumentException(
                $"ClassNames has {ClassNames.Count} entries but the model has {numClasses} classes.", nameof(ClassNames));
        if (Beta is double b && !(b >= 0))
            throw new ArgumentOutOfRangeException(nameof(Beta), b, "β must be a non-negative number.");
        if (string.IsNullOrWhiteSpace(GraphName))
            throw new ArgumentException("GraphName must not be empty.", nameof(GraphName));
    }
}
