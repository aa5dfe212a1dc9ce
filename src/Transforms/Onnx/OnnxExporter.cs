using System.Globalization;
using System.Reflection;
using System.Text.Json;
using DqMlNet.Data;
using DqMlNet.Models;
using DqMlNet.Quantization;
using Google.Protobuf;
using Onnx;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using G = DqMlNet.Transforms.Onnx.OnnxGraphBuilder;

namespace DqMlNet.Transforms.Onnx;

/// <summary>
/// Writes a <see cref="DqModel"/> as ONNX (opset 13). Full-precision models become a plain float graph; VQ/DQ models
/// are written in QDQ form: every k-bit activation is <c>QuantizeLinear</c> (uint8, scale 6/(2^k − 1), zero point 0)
/// → <c>Clip(0, 2^k − 1)</c> on the levels → <c>DequantizeLinear</c>; weights of layers ONNX Runtime runs as integer
/// kernels are int8 per output channel with <c>DequantizeLinear(axis = 0)</c>. The graph is laid out so that ONNX
/// Runtime keeps everything after the first convolution in integers. See docs/onnx.md for the exact graph.
/// </summary>
public static class OnnxExporter
{
    /// <summary>The ONNX opset the exporter targets.</summary>
    public const int Opset = 13;

    /// <summary>The ONNX IR version matching <see cref="Opset"/> (IR 7 goes with opset 13).</summary>
    public const long IrVersion = 7;

    /// <summary>Builds the ONNX model in memory. Throws <see cref="NotSupportedException"/> naming any layer it cannot export.</summary>
    public static ModelProto ToModelProto(DqModel model, OnnxExportOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        options ??= new OnnxExportOptions();
        var spec = model.Spec;
        options.Validate(spec.NumClasses);

        var g = new G(options.GraphName);
        var emitter = new Emitter(g, spec, options);
        g.Graph.Input.Add(G.FloatBatchValue(OnnxMetadataKeys.InputName, spec.Channels, spec.Height, spec.Width));
        g.Fresh(OnnxMetadataKeys.InputName);
        g.Fresh(OnnxMetadataKeys.ProbabilitiesName);
        g.Fresh(OnnxMetadataKeys.LogitsName);

        using (no_grad())
        {
            var value = new Value(OnnxMetadataKeys.InputName, null);
            var stages = model.Stages;
            emitter.PlanResiduals(stages);
            for (int i = 0; i < stages.Count; i++) value = emitter.Stack($"s{i}", stages[i].Layers, value);

            // Logits must be a plain name: rename the last node's output.
            var last = g.Graph.Node[^1];
            int idx = last.Output.IndexOf(value.Name);
            if (idx < 0) throw new InvalidOperationException("The model's last layer produced no node output.");
            last.Output[idx] = OnnxMetadataKeys.LogitsName;
            g.NodeWithOutputs("Softmax", new[] { OnnxMetadataKeys.LogitsName }, new[] { OnnxMetadataKeys.ProbabilitiesName }, G.Int("axis", 1));
        }

        g.Graph.Output.Add(G.FloatBatchValue(OnnxMetadataKeys.ProbabilitiesName, spec.NumClasses));
        if (options.IncludeLogits) g.Graph.Output.Add(G.FloatBatchValue(OnnxMetadataKeys.LogitsName, spec.NumClasses));

        var proto = new ModelProto
        {
            IrVersion = IrVersion,
            ProducerName = "DqMlNet",
            ProducerVersion = LibraryVersion,
            Domain = "dqmlnet",
            ModelVersion = 1,
            DocString = $"{spec.Architecture} ({spec.Mode}) image classifier exported by DqMlNet: input float pixels in [0, 1] [N, {spec.Channels}, {spec.Height}, {spec.Width}].",
            Graph = g.Graph,
        };
        proto.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = Opset });
        foreach (var (key, val) in Metadata(spec, options, emitter.ExportedWeightsDescription))
            proto.MetadataProps.Add(new StringStringEntryProto { Key = key, Value = val });
        return proto;
    }

    /// <summary>The ONNX file's bytes (for in-memory use, e.g. an ML.NET stage).</summary>
    public static byte[] ToBytes(DqModel model, OnnxExportOptions? options = null) => ToModelProto(model, options).ToByteArray();

    /// <summary>
    /// Writes the ONNX file atomically (temporary file in the same folder, then rename): on any failure no partial
    /// output and no temporary file remain, and an existing file at <paramref name="path"/> is untouched.
    /// </summary>
    public static void Export(DqModel model, string path, OnnxExportOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        var bytes = ToBytes(model, options); // every layer is checked before anything touches the disk
        string full;
        try
        {
            full = Path.GetFullPath(path);
        }
        catch (Exception e) when (e is ArgumentException or NotSupportedException or PathTooLongException)
        {
            throw new ArgumentException($"'{path}' is not a valid file path for the ONNX export: {e.Message}", nameof(path), e);
        }
        if (Directory.Exists(full))
            throw new ArgumentException($"'{full}' is a directory; give the ONNX file's path (e.g. model.onnx).", nameof(path));
        try
        {
            AtomicFile.WriteAllBytes(full, bytes);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new IOException($"Could not write the ONNX file '{full}': {e.Message}", e);
        }
    }

    /// <summary>Version of the DqMlNet library (recorded in the metadata).</summary>
    public static string LibraryVersion =>
        typeof(OnnxExporter).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion
        ?? typeof(OnnxExporter).Assembly.GetName().Version?.ToString() ?? "unknown";

    private static IEnumerable<(string, string)> Metadata(ModelSpec spec, OnnxExportOptions options, string exportedWeights)
    {
        var inv = CultureInfo.InvariantCulture;
        yield return (OnnxMetadataKeys.Architecture, spec.Architecture.ToString());
        yield return (OnnxMetadataKeys.Mode, spec.Mode.ToString());
        yield return (OnnxMetadataKeys.ActivationBits, spec.IsQuantized ? spec.ActivationBits.ToString(inv) : "");
        yield return (OnnxMetadataKeys.WeightBits, spec.WeightBits?.ToString(inv) ?? "");
        yield return (OnnxMetadataKeys.ExportedWeights, exportedWeights);
        if (options.Beta is double beta) yield return (OnnxMetadataKeys.Beta, beta.ToString("R", inv));
        if (options.ClassNames is not null) yield return (OnnxMetadataKeys.ClassNames, JsonSerializer.Serialize(options.ClassNames));
        yield return (OnnxMetadataKeys.InputShape, $"N,{spec.Channels},{spec.Height},{spec.Width}");
        yield return (OnnxMetadataKeys.LibraryVersion, LibraryVersion);
        yield return (OnnxMetadataKeys.ModelSpec, spec.ToJson());
    }

    /// <summary>
    /// A graph value. <see cref="Scale"/> is set when it is the output of a DequantizeLinear on the k-bit activation
    /// grid; <see cref="Integer"/> when it is the float output of a Conv that ONNX Runtime will run as an integer kernel
    /// once a QuantizeLinear follows.
    /// </summary>
    private readonly record struct Value(string Name, float? Scale, bool Integer = false)
    {
        /// <summary>Set on a feature map flattened channels-last: its channel count (the next Linear permutes its columns).</summary>
        public int? FlattenedChannels { get; init; }

        /// <summary>Set when the value is the output of a DequantizeLinear on a residual block's uint8 grid.</summary>
        public UInt8Grid? Residual { get; init; }
    }

    /// <summary>Initializer-name suffixes of a residual block's uint8 grid (the typed loader reads them back).</summary>
    internal const string ResidualScaleSuffix = ".residual_scale", ResidualZeroPointSuffix = ".residual_zero_point",
        SkipScaleSuffix = ".skip_scale", SkipZeroPointSuffix = ".skip_zero_point";

    /// <summary>Output-name suffix of the Transpose in front of a channels-last Flatten (the typed loader looks for it).</summary>
    internal const string ChannelsLastSuffix = ".channels_last";

    private sealed class Emitter
    {
        private readonly G g;
        private readonly ModelSpec spec;
        private readonly OnnxExportOptions options;
        private readonly bool quantizeWeights;
        private readonly Dictionary<PreActivationBlock, UInt8Grid> residualGrids = new(ReferenceEqualityComparer.Instance);
        private int featureChannels; // output channels of the last convolution emitted

        public Emitter(G g, ModelSpec spec, OnnxExportOptions options)
        {
            this.g = g;
            this.spec = spec;
            this.options = options;
            quantizeWeights = spec.IsQuantized && options.QuantizeWeights;
            ExportedWeightsDescription = !quantizeWeights ? "float"
                : options.IntegerWeightsOnly ? $"int8 per output channel ({(spec.WeightBits ?? options.DefaultWeightBits)}-bit grid)"
                : $"int8 per output channel ({(spec.WeightBits ?? options.DefaultWeightBits)}-bit grid) in integer layers; the same values as float in layers with a float input or output";
        }

        public string ExportedWeightsDescription { get; }

        /// <summary>
        /// Chooses the uint8 grid of every residual sum whose consumer is a BatchNorm feeding a quantized activation (the
        /// next block's first BatchNorm, or the head's), so its convolutions and the addition can run as integer
        /// kernels. Nothing is planned for float models, float weights or <see cref="OnnxExportOptions.QuantizeResiduals"/>
        /// off, and then the residual stream stays float.
        /// </summary>
        public void PlanResiduals(IReadOnlyList<LayerStack> stages)
        {
            if (!quantizeWeights || !options.QuantizeResiduals) return;
            var layers = stages.SelectMany(s => s.Layers).ToList();
            for (int i = 0; i + 1 < layers.Count; i++)
            {
                if (layers[i].Layer is not PreActivationBlock block || block.Act1 is not QuantizedReLU6 || block.Act2 is not QuantizedReLU6) continue;
                var consumer = layers[i + 1].Layer switch
                {
                    PreActivationBlock next when next.Act1 is QuantizedReLU6 => next.Bn1,
                    BatchNorm2d bn when i + 2 < layers.Count && layers[i + 2].Layer is QuantizedReLU6 => bn,
                    _ => null,
                };
                if (consumer is not null) residualGrids[block] = ResidualGrids.FromBatchNorm(consumer);
            }
        }

        public Value Stack(string prefix, IReadOnlyList<(string Name, nn.Module<Tensor, Tensor> Layer)> layers, Value x)
        {
            for (int i = 0; i < layers.Count; i++)
            {
                var (name, layer) = layers[i];
                var path = $"{prefix}.{name}";
                switch (layer)
                {
                    case Normalization norm:
                        x = Normalize(path, norm, x);
                        break;
                    case QuantConv2d conv:
                        BatchNorm2d? bn = i + 1 < layers.Count ? layers[i + 1].Layer as BatchNorm2d : null;
                        int next = bn is null ? i + 1 : i + 2;
                        bool quantizedOutput = next < layers.Count && layers[next].Layer is QuantizedReLU6;
                        x = Conv(path, conv, bn, x, quantizedOutput);
                        if (bn is not null) i++; // folded
                        break;
                    case BatchNorm2d bn2d:
                        x = BatchNorm(path, bn2d, x);
                        break;
                    case QuantLinear linear:
                        x = Linear(path, linear, x);
                        break;
                    case ReLUActivation:
                        x = new Value(g.Node("Relu", path, new[] { x.Name }), null);
                        break;
                    case QuantizedReLU6 act when i + 1 < layers.Count && layers[i + 1].Layer is MaxPool2d or MaxPool2x2:
                        x = QuantizedActivationAndPool(path, act, $"{prefix}.{layers[i + 1].Name}", layers[i + 1].Layer, x);
                        i++;
                        break;
                    case QuantizedReLU6 act:
                        x = QuantizedActivation(path, act, x);
                        break;
                    case MaxPool2d or MaxPool2x2:
                        x = MaxPool(path, layer, x);
                        break;
                    case AdaptiveAvgPool2d gap when gap.output_size.All(s => s == 1):
                        x = new Value(g.Node("GlobalAveragePool", path, new[] { x.Name }), null);
                        break;
                    case Flatten flatten when flatten.start_dim == 1 && flatten.end_dim == -1:
                        x = Flatten(path, x);
                        break;
                    case PreActivationBlock block:
                        x = Block(path, block, x);
                        break;
                    default:
                        throw new NotSupportedException(
                            $"Layer '{path}' of type {layer.GetType().FullName} cannot be exported to ONNX. Supported layers: " +
                            "Normalization, QuantConv2d, BatchNorm2d, QuantLinear, ReLUActivation, QuantizedReLU6, MaxPool2d, MaxPool2x2, " +
                            "AdaptiveAvgPool2d(1), Flatten(1, -1), PreActivationBlock.");
                }
            }
            return x;
        }

        private Value Normalize(string path, Normalization norm, Value x)
        {
            long c = norm.Mean.Count;
            var mean = g.Initializer($"{path}.mean", norm.Mean.ToArray(), 1, c, 1, 1);
            var std = g.Initializer($"{path}.std", norm.Std.ToArray(), 1, c, 1, 1);
            var sub = g.Node("Sub", $"{path}.centered", new[] { x.Name, mean });
            return new Value(g.Node("Div", path, new[] { sub, std }), null);
        }

        private int? QuantizeBits(int? trainedBits) => quantizeWeights ? trainedBits ?? options.DefaultWeightBits : null;

        private Value Conv(string path, QuantConv2d conv, BatchNorm2d? bn, Value x, bool quantizedOutput)
        {
            var weights = ExportedLayerWeights.Create(conv.Weight, conv.Bias, bn, conv.WeightBits, QuantizeBits(conv.WeightBits));
            // ONNX Runtime fuses DequantizeLinear → Conv → QuantizeLinear into an integer QLinearConv; any other Conv runs
            // in float, and there int8 weights would be dequantized on every call and keep it off the blocked (NCHWc)
            // float kernels, which need constant weights.
            bool integer = x.Scale is not null && quantizedOutput;
            if (!integer && !options.IntegerWeightsOnly) weights = weights.Dequantized();
            featureChannels = weights.OutChannels;
            var inputs = WeightAndBias(path, weights, x, weightAxis: 0);
            long kh = weights.Dims[2], kw = weights.Dims[3];
            var y = g.Node("Conv", path, inputs,
                G.Ints("kernel_shape", kh, kw),
                G.Ints("strides", conv.Stride, conv.Stride),
                G.Ints("pads", conv.Padding, conv.Padding, conv.Padding, conv.Padding),
                G.Ints("dilations", 1, 1),
                G.Int("group", 1));
            return new Value(y, null, Integer: integer && weights.Quantized is not null);
        }

        private Value Linear(string path, QuantLinear linear, Value x)
        {
            var weights = ExportedLayerWeights.Create(linear.Weight, linear.Bias, null, linear.WeightBits, QuantizeBits(linear.WeightBits));
            // QGemm may have a float output, so only a float input (e.g. after GlobalAveragePool) keeps the layer in float.
            if (x.Scale is null && !options.IntegerWeightsOnly) weights = weights.Dequantized();
            if (x.FlattenedChannels is int channels) weights = weights.WithChannelsLastColumns(channels);
            var inputs = WeightAndBias(path, weights, x, weightAxis: 0);
            var y = g.Node("Gemm", path, inputs, G.Int("transB", 1));
            return new Value(y, null);
        }

        /// <summary>[x, weight, bias?] for Conv/Gemm; weight (and, after a quantized input, bias) through DequantizeLinear.</summary>
        private string[] WeightAndBias(string path, ExportedLayerWeights w, Value x, int weightAxis)
        {
            var inputs = new List<string> { x.Name };
            int cout = w.OutChannels;
            if (w.Quantized is not null)
            {
                var q = g.Initializer($"{path}.weight_quantized", w.Quantized, w.Dims);
                var s = g.Initializer($"{path}.weight_scale", w.Scale!, cout);
                var zp = g.Initializer($"{path}.weight_zero_point", new sbyte[cout], cout);
                inputs.Add(g.Node("DequantizeLinear", $"{path}.weight", new[] { q, s, zp }, G.Int("axis", weightAxis)));
            }
            else
            {
                inputs.Add(g.Initializer($"{path}.weight", w.Float!, w.Dims));
            }

            if (w.Bias is null) return inputs.ToArray();
            // After a quantized activation, an int32 bias with scale s_x·s_w (zero point 0) lets ONNX Runtime fuse the
            // layer into an integer kernel (QLinearConv / QGemm); its rounding error is at most half a step of the
            // accumulator grid.
            if (x.Scale is float sx && w.Scale is not null && TryQuantizeBias(w.Bias, sx, w.Scale, out var qb, out var bs))
            {
                var q = g.Initializer($"{path}.bias_quantized", qb, cout);
                var s = g.Initializer($"{path}.bias_scale", bs, cout);
                var zp = g.Initializer($"{path}.bias_zero_point", new int[cout], cout);
                inputs.Add(g.Node("DequantizeLinear", $"{path}.bias", new[] { q, s, zp }, G.Int("axis", 0)));
            }
            else
            {
                inputs.Add(g.Initializer($"{path}.bias", w.Bias, cout));
            }
            return inputs.ToArray();
        }

        private static bool TryQuantizeBias(float[] bias, float inputScale, float[] weightScale, out int[] quantized, out float[] scale)
        {
            quantized = new int[bias.Length];
            scale = new float[bias.Length];
            for (int c = 0; c < bias.Length; c++)
            {
                scale[c] = inputScale * weightScale[c];
                double v = Math.Round(bias[c] / (double)scale[c], MidpointRounding.ToEven);
                if (!(scale[c] > 0) || float.IsInfinity(scale[c]) || Math.Abs(v) > int.MaxValue / 2) return false;
                quantized[c] = (int)v;
            }
            return true;
        }

        /// <summary>
        /// Flatten(axis 1). A quantized feature map is flattened channels-last (<c>Transpose(0, 2, 3, 1)</c> first) and the
        /// next Linear's columns are permuted to match, which is exact: ONNX Runtime keeps quantized maps in NHWC (after
        /// QLinearConv/NhwcMaxPool), so the Transpose cancels against its own instead of costing a full copy.
        /// </summary>
        private Value Flatten(string path, Value x)
        {
            if (x.Scale is null || featureChannels <= 0)
                return Requantize(path, x with { Name = g.Node("Flatten", path, new[] { x.Name }, G.Int("axis", 1)) });
            var nhwc = g.Node("Transpose", $"{path}{ChannelsLastSuffix}", new[] { x.Name }, G.Ints("perm", 0, 2, 3, 1));
            var flat = g.Node("Flatten", path, new[] { nhwc }, G.Int("axis", 1));
            return Requantize(path, x with { Name = flat, FlattenedChannels = featureChannels });
        }

        private Value BatchNorm(string path, BatchNorm2d bn, Value x)
        {
            int c = (int)bn.num_features;
            float[] Data(Tensor? t, float fill) => t is null ? Enumerable.Repeat(fill, c).ToArray() : t.detach().cpu().to_type(ScalarType.Float32).contiguous().data<float>().ToArray();
            var scale = g.Initializer($"{path}.scale", Data(bn.weight, 1f), c);
            var bias = g.Initializer($"{path}.bias", Data(bn.bias, 0f), c);
            var mean = g.Initializer($"{path}.mean", Data(bn.running_mean, 0f), c);
            var variance = g.Initializer($"{path}.var", Data(bn.running_var, 1f), c);
            var y = g.Node("BatchNormalization", path, new[] { x.Name, scale, bias, mean, variance }, G.Float("epsilon", (float)bn.eps));
            return new Value(y, null);
        }

        /// <summary>
        /// k-bit quantized ReLU6, s·clamp(round_half_even(x/s), 0, 2^k − 1) with s = 6/(2^k − 1), written as
        /// <c>QuantizeLinear(s)</c> (uint8, zero point 0: rounds and saturates to [0, 255]) → <c>Clip(0, 2^k − 1)</c> on
        /// the uint8 levels (left out for k = 8) → <c>DequantizeLinear(s)</c>. Exact, and the QuantizeLinear stays
        /// directly behind the producing Conv/Gemm, so ONNX Runtime fuses them into an integer kernel; the Clip then runs
        /// on bytes, not floats.
        /// </summary>
        private Value QuantizedActivation(string path, QuantizedReLU6 act, Value x)
        {
            var (scale, zp) = ActivationGrid(act.Scale);
            var q = g.Node("QuantizeLinear", $"{path}_quantized", new[] { x.Name, scale, zp });
            return new Value(g.Node("DequantizeLinear", path, new[] { ClipLevels(path, act, q), scale, zp }), act.Scale);
        }

        /// <summary>
        /// A quantized activation followed by a max pool. Max pooling commutes with the (monotone) quantizer, so the pool
        /// can sit wherever ONNX Runtime runs it fastest, with the same result:
        /// <list type="bullet">
        /// <item>behind an integer Conv: <c>Q → DQ → MaxPool → Q → Clip → DQ</c>. ORT drops the DQ/Q around the pool
        /// and runs it on bytes in channels-last layout (<c>NhwcMaxPool</c>), between integer convolutions.</item>
        /// <item>behind a float Conv (the first one): <c>MaxPool → Relu → Q → Clip → DQ</c>, i.e. the pool runs in float
        /// and ORT fuses it into its blocked float convolution. The Relu changes nothing (QuantizeLinear with zero point 0
        /// already maps negatives to 0); it stops ORT from moving the QuantizeLinear in front of the pool, which would
        /// leave a slow uint8 pool in NCHW layout, and ORT removes it afterwards.</item>
        /// </list>
        /// </summary>
        private Value QuantizedActivationAndPool(string path, QuantizedReLU6 act, string poolPath, nn.Module<Tensor, Tensor> pool, Value x)
        {
            var (scale, zp) = ActivationGrid(act.Scale);
            string pooled;
            if (x.Integer)
            {
                var q = g.Node("QuantizeLinear", $"{path}.rounded_quantized", new[] { x.Name, scale, zp });
                pooled = MaxPoolNode(poolPath, pool, g.Node("DequantizeLinear", $"{path}.rounded", new[] { q, scale, zp }));
            }
            else
            {
                pooled = g.Node("Relu", $"{poolPath}.relu", new[] { MaxPoolNode(poolPath, pool, x.Name) });
            }
            var levels = g.Node("QuantizeLinear", $"{poolPath}_quantized", new[] { pooled, scale, zp });
            return new Value(g.Node("DequantizeLinear", poolPath, new[] { ClipLevels(path, act, levels), scale, zp }), act.Scale);
        }

        /// <summary>Cuts the uint8 levels to 2^k − 1 (nothing to do for k = 8).</summary>
        private string ClipLevels(string path, QuantizedReLU6 act, string quantized)
        {
            int top = ActivationQuantizer.MaxLevel(act.Bits);
            if (top >= byte.MaxValue) return quantized;
            var lo = g.ScalarUInt8("act.level_min", 0);
            var hi = g.ScalarUInt8($"act.level_max_{top}", (byte)top);
            return g.Node("Clip", $"{path}.levels", new[] { quantized, lo, hi });
        }

        private (string Scale, string ZeroPoint) ActivationGrid(float s) => (ActivationScale(s), g.ScalarUInt8("act.zero_point", 0));

        private string ActivationScale(float s) => g.ScalarFloat($"act.scale_{s.ToString("R", CultureInfo.InvariantCulture)}", s);

        private string Qdq(string hint, string x, string scale, string zp)
        {
            var q = g.Node("QuantizeLinear", $"{hint}_quantized", new[] { x, scale, zp });
            return g.Node("DequantizeLinear", hint, new[] { q, scale, zp });
        }

        /// <summary>Re-quantizes a value that is still on the activation grid (after MaxPool/Flatten), which is exact.</summary>
        private Value Requantize(string path, Value x)
        {
            if (x.Scale is not float s) return x;
            var (scale, zp) = ActivationGrid(s);
            return x with { Name = Qdq($"{path}.requant", x.Name, scale, zp), Integer = false };
        }

        private Value MaxPool(string path, nn.Module<Tensor, Tensor> pool, Value x) => Requantize(path, new Value(MaxPoolNode(path, pool, x.Name), x.Scale));

        /// <summary>A MaxPool node for a TorchSharp <see cref="MaxPool2d"/> or our <see cref="MaxPool2x2"/>.</summary>
        private string MaxPoolNode(string path, nn.Module<Tensor, Tensor> module, string x)
        {
            long[] Two(long[]? v, long fallback) => v is null || v.Length == 0 ? new[] { fallback, fallback } : v.Length == 1 ? new[] { v[0], v[0] } : v;
            long[] k = { 2, 2 }, st = { 2, 2 }, p = { 0, 0 };
            if (module is MaxPool2d pool)
            {
                if (pool.ceil_mode || (pool.dilation is { } d && d.Any(v => v != 1)))
                    throw new NotSupportedException($"Layer '{path}': MaxPool2d with ceil_mode or dilation is not supported by the ONNX exporter.");
                k = Two(pool.kernel_size, 1);
                st = Two(pool.stride, 0);
                if (st[0] == 0) st = k;
                p = Two(pool.padding, 0);
            }
            return g.Node("MaxPool", path, new[] { x },
                G.Ints("kernel_shape", k), G.Ints("strides", st), G.Ints("pads", p[0], p[1], p[0], p[1]));
        }

        private Value Block(string path, PreActivationBlock block, Value x)
        {
            var o = Stack(path, new (string, nn.Module<Tensor, Tensor>)[] { ("bn1", block.Bn1), ("act1", block.Act1) }, x);
            if (residualGrids.TryGetValue(block, out var grid)) return QuantizedResidual(path, block, grid, x, o);
            var y = Stack(path, new (string, nn.Module<Tensor, Tensor>)[]
                { ("conv1", block.Conv1), ("bn2", block.Bn2), ("act2", block.Act2), ("conv2", block.Conv2) }, o);
            var shortcut = block.Shortcut is null ? x : Stack(path, new (string, nn.Module<Tensor, Tensor>)[] { ("shortcut", block.Shortcut) }, o);
            return new Value(g.Node("Add", $"{path}.out", new[] { y.Name, shortcut.Name }), null);
        }

        /// <summary>
        /// The residual sum on a uint8 grid: the second convolution and the projection shortcut are rounded onto it
        /// (<c>Conv → QuantizeLinear → DequantizeLinear</c>, which ONNX Runtime runs as <c>QLinearConv</c> with a uint8
        /// output), an identity shortcut arrives on the previous block's grid (or is rounded onto a grid taken from this
        /// block's first BatchNorm), and the sum is rounded onto the grid again (<c>Add → QuantizeLinear</c>, ORT's
        /// <c>QLinearAdd</c>). Both branches share the sum's scale and zero point, so adding two of its levels needs no
        /// further rounding unless it saturates.
        /// </summary>
        private Value QuantizedResidual(string path, PreActivationBlock block, UInt8Grid grid, Value x, Value o)
        {
            var h = Stack(path, new (string, nn.Module<Tensor, Tensor>)[] { ("conv1", block.Conv1), ("bn2", block.Bn2), ("act2", block.Act2) }, o);
            var (scale, zp) = GridInitializers(path, grid, ResidualScaleSuffix, ResidualZeroPointSuffix);
            var y = Conv($"{path}.conv2", block.Conv2, null, h, quantizedOutput: true);
            var branch = Qdq($"{path}.conv2.rounded", y.Name, scale, zp);
            string skip;
            if (block.Shortcut is { } projection)
            {
                var s = Conv($"{path}.shortcut", projection, null, o, quantizedOutput: true);
                skip = Qdq($"{path}.shortcut.rounded", s.Name, scale, zp);
            }
            else if (x.Residual is not null)
            {
                skip = x.Name;
            }
            else
            {
                var (skipScale, skipZp) = GridInitializers(path, ResidualGrids.FromBatchNorm(block.Bn1), SkipScaleSuffix, SkipZeroPointSuffix);
                skip = Qdq($"{path}.skip", x.Name, skipScale, skipZp);
            }
            var sum = g.Node("Add", $"{path}.sum", new[] { branch, skip });
            return new Value(Qdq($"{path}.out", sum, scale, zp), null) { Residual = grid };
        }

        private (string Scale, string ZeroPoint) GridInitializers(string path, UInt8Grid grid, string scaleSuffix, string zeroPointSuffix) =>
            (g.Initializer($"{path}{scaleSuffix}", new[] { grid.Scale }), g.Initializer($"{path}{zeroPointSuffix}", new[] { grid.ZeroPoint }));
    }
}
