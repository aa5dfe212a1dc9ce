using DqMlNet.Quantization;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace DqMlNet.Transforms.Onnx;

/// <summary>
/// The weights of one convolution or linear layer as they go into the ONNX file: BatchNorm folded in (if one follows),
/// and either int8 per-output-channel values with scales, or float values.
/// </summary>
internal sealed class ExportedLayerWeights
{
    private ExportedLayerWeights(long[] dims) => Dims = dims;

    /// <summary>Weight shape ([c_out, c_in, kh, kw] or [out, in]).</summary>
    public long[] Dims { get; }

    /// <summary>Output channels.</summary>
    public int OutChannels => (int)Dims[0];

    /// <summary>Float weight (row-major, <see cref="Dims"/>), when not quantized.</summary>
    public float[]? Float { get; private init; }

    /// <summary>int8 weight (row-major, <see cref="Dims"/>), when quantized.</summary>
    public sbyte[]? Quantized { get; private init; }

    /// <summary>Per-output-channel scale of <see cref="Quantized"/> (positive).</summary>
    public float[]? Scale { get; private init; }

    /// <summary>Bit width of the int8 grid (levels ±(2^(k−1) − 1)).</summary>
    public int Bits { get; private init; }

    /// <summary>Bias (with BatchNorm folded in), or null when the layer has neither bias nor BatchNorm.</summary>
    public float[]? Bias { get; private init; }

    /// <summary>
    /// The same layer with float weights holding exactly what <c>DequantizeLinear</c> computes from the int8 values
    /// (<c>(float)q · scale[c]</c>, one float32 multiplication), so a graph using either form gives identical results.
    /// Float layers are returned unchanged.
    /// </summary>
    public ExportedLayerWeights Dequantized()
    {
        if (Quantized is null || Scale is null) return this;
        var values = new float[Quantized.Length];
        for (int i = 0; i < values.Length; i++) values[i] = Quantized[i];
        return new ExportedLayerWeights(Dims) { Float = ScalePerChannel(values, Scale), Bias = Bias };
    }

    /// <summary>
    /// Multiplies integer-valued <paramref name="values"/> (row-major, output channel first) in place by their channel's
    /// scale, one float32 multiplication each, as <c>DequantizeLinear(axis = 0)</c> computes it; returns the array.
    /// </summary>
    public static float[] ScalePerChannel(float[] values, float[] scale)
    {
        int perChannel = values.Length / scale.Length;
        for (int i = 0; i < values.Length; i++) values[i] *= scale[i / perChannel];
        return values;
    }

    /// <summary>
    /// The linear layer with its input columns reordered from a channels-first flatten (index c·HW + p) to a
    /// channels-last one (index p·C + c), for an input flattened as NHWC. <see cref="PermuteColumns"/> with
    /// <c>toChannelsLast: false</c> undoes it.
    /// </summary>
    public ExportedLayerWeights WithChannelsLastColumns(int channels) => new(Dims)
    {
        Float = Float is null ? null : PermuteColumns(Float, (int)Dims[1], channels, toChannelsLast: true),
        Quantized = Quantized is null ? null : PermuteColumns(Quantized, (int)Dims[1], channels, toChannelsLast: true),
        Scale = Scale,
        Bits = Bits,
        Bias = Bias,
    };

    /// <summary>Reorders the columns of a row-major [rows, inputs] matrix between channels-first and channels-last flatten order.</summary>
    public static T[] PermuteColumns<T>(T[] matrix, int inputs, int channels, bool toChannelsLast)
    {
        if (channels <= 0 || inputs % channels != 0)
            throw new InvalidDataException($"A linear layer with {inputs} inputs cannot follow a flattened map of {channels} channels.");
        int positions = inputs / channels;
        var result = new T[matrix.Length];
        for (int row = 0; row < matrix.Length / inputs; row++)
        {
            int o = row * inputs;
            for (int c = 0; c < channels; c++)
                for (int p = 0; p < positions; p++)
                {
                    int first = o + c * positions + p, last = o + p * channels + c;
                    if (toChannelsLast) result[last] = matrix[first];
                    else result[first] = matrix[last];
                }
        }
        return result;
    }

    /// <summary>
    /// Computes the exported weights. <paramref name="quantizeBits"/> null means float weights (fake-quantized with
    /// <paramref name="trainedBits"/> if set); otherwise int8 on the <paramref name="trainedBits"/> grid if the layer was
    /// trained with weight quantization, else on a <paramref name="quantizeBits"/> grid.
    /// </summary>
    public static ExportedLayerWeights Create(Tensor weight, Tensor? bias, BatchNorm2d? bn, int? trainedBits, int? quantizeBits)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var w = weight.detach().cpu().to_type(ScalarType.Float32).contiguous();
        long cout = w.shape[0];
        var viewShape = new long[w.dim()];
        Array.Fill(viewShape, 1L);
        viewShape[0] = -1;

        Tensor gain = ones(cout);
        Tensor? b = bias?.detach().cpu().to_type(ScalarType.Float32);
        if (bn is not null)
        {
            var mean = bn.running_mean!.detach().cpu();
            var variance = bn.running_var!.detach().cpu();
            gain = variance.add(bn.eps).sqrt().reciprocal();
            if (bn.weight is not null) gain = gain.mul(bn.weight.detach().cpu());
            b = (b ?? zeros(cout)).sub(mean).mul(gain);
            if (bn.bias is not null) b = b.add(bn.bias.detach().cpu());
        }
        float[]? biasOut = b?.contiguous().data<float>().ToArray();

        if (quantizeBits is int qb)
        {
            int bits = trainedBits ?? qb;
            int level = WeightQuantizer.MaxLevel(bits);
            var s = WeightQuantizer.Scales(w, bits);
            // The same arithmetic as WeightQuantizer.QuantizeSte, so the integers are the training grid's.
            var q = w.div(s.reshape(viewShape)).round_().clamp_(-level, level);
            // BatchNorm folds into the per-channel scale exactly: s·q·g = (|s·g|)·(sign(g)·q).
            var sign = gain.sign();
            sign = where(sign.eq(0), zeros_like(sign), sign);
            q = q.mul(sign.reshape(viewShape));
            var scale = s.mul(gain).abs_().clamp_min_(1e-12f);
            return new ExportedLayerWeights(w.shape)
            {
                Quantized = q.to_type(ScalarType.Int8).contiguous().data<sbyte>().ToArray(),
                Scale = scale.contiguous().data<float>().ToArray(),
                Bits = bits,
                Bias = biasOut,
            };
        }

        var wf = trainedBits is int tb ? WeightQuantizer.QuantizeSte(w, tb) : w;
        wf = wf.mul(gain.reshape(viewShape));
        return new ExportedLayerWeights(w.shape) { Float = wf.contiguous().data<float>().ToArray(), Bias = biasOut };
    }
}
