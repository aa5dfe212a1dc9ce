using System.Runtime.InteropServices;
using DqMlNet.Models;
using DqMlNet.Quantization;
using Onnx;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace DqMlNet.Transforms.Onnx;

/// <summary>
/// Typed load of ONNX files written by <see cref="OnnxExporter"/>: rebuilds the <see cref="DqModel"/> from the
/// <c>ModelSpec</c> in the metadata and loads the weights from the initializers.
/// </summary>
/// <remarks>
/// The rebuilt model computes what the ONNX graph computes, not necessarily the original parameters: BatchNorm that was
/// folded into a convolution comes back as the folded convolution plus an identity BatchNorm (weight 1, mean 0,
/// variance 1 − ε) carrying the folded bias; int8 weights come back dequantized (scale · q), which the model's own
/// weight quantizer maps onto the same grid; an int32 bias comes back dequantized (its rounding is at most half an
/// accumulator step); a WRN exported with a uint8 residual stream rounds it onto the file's grids as the graph does
/// (<see cref="PreActivationBlock.OutputGrid"/>). Such a model is meant for inference and evaluation; fine-tuning it in training mode would use
/// batch statistics in the identity BatchNorms.
/// </remarks>
public static class OnnxModelLoader
{
    /// <summary>How messages name a model that did not come from a file.</summary>
    private const string InMemory = "<in-memory ONNX model>";

    /// <summary>Reads an ONNX file (any producer); its length is checked against <see cref="ModelFileLimits.MaxModelBytes"/> first.</summary>
    public static ModelProto ReadModel(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        if (!File.Exists(path)) throw new FileNotFoundException($"ONNX file '{path}' does not exist.", path);
        long length = new FileInfo(path).Length;
        if (length > ModelFileLimits.MaxModelBytes)
            throw new InvalidDataException($"ONNX file '{path}' has {length:N0} bytes, more than the limit of {ModelFileLimits.MaxModelBytes:N0}. {ModelFileLimits.RaiseHint}");
        return ReadModel(File.ReadAllBytes(path), path);
    }

    /// <summary>Parses ONNX bytes (any producer).</summary>
    public static ModelProto ReadModel(byte[] bytes) => ReadModel(bytes, InMemory);

    internal static ModelProto ReadModel(byte[] bytes, string source)
    {
        ArgumentNullException.ThrowIfNull(bytes);
        try
        {
            return ModelProto.Parser.ParseFrom(bytes);
        }
        catch (Google.Protobuf.InvalidProtocolBufferException e)
        {
            throw new InvalidDataException($"'{source}' is not an ONNX model (protobuf parse failed: {e.Message}).", e);
        }
    }

    /// <summary>The model's <c>metadata_props</c> as a dictionary (keys in <see cref="OnnxMetadataKeys"/> for our files).</summary>
    public static IReadOnlyDictionary<string, string> Metadata(ModelProto model)
    {
        ArgumentNullException.ThrowIfNull(model);
        var d = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var p in model.MetadataProps) d[p.Key] = p.Value;
        return d;
    }

    /// <summary>
    /// The <see cref="ModelSpec"/> stored by <see cref="OnnxExporter"/>, validated (including its upper bounds); throws
    /// <see cref="InvalidDataException"/> naming the metadata field for other files or an unreadable or invalid spec.
    /// </summary>
    public static ModelSpec ReadSpec(ModelProto model) => ReadSpec(model, InMemory);

    internal static ModelSpec ReadSpec(ModelProto model, string source)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (!Metadata(model).TryGetValue(OnnxMetadataKeys.ModelSpec, out var json))
            throw new InvalidDataException(
                $"'{source}' has no '{OnnxMetadataKeys.ModelSpec}' metadata, so it was not written by DqMlNet's exporter and " +
                "cannot be rebuilt as a DqModel. Score it with OnnxClassifier instead.");
        try
        {
            var spec = ModelSpec.FromJson(json);
            spec.Validate();
            return spec;
        }
        catch (Exception e) when (e is System.Text.Json.JsonException or ArgumentException or InvalidDataException or NotSupportedException)
        {
            throw new InvalidDataException(
                $"'{source}': the metadata field '{OnnxMetadataKeys.ModelSpec}' does not hold a valid ModelSpec ({e.Message}). " +
                "The file was modified after export or is damaged: export the model again.", e);
        }
    }

    /// <summary>Rebuilds the model from an ONNX file written by <see cref="OnnxExporter"/> (in eval mode).</summary>
    public static DqModel Load(string path) => Load(ReadModel(path), path);

    /// <summary>Rebuilds the model from ONNX bytes written by <see cref="OnnxExporter"/> (in eval mode).</summary>
    public static DqModel Load(byte[] bytes) => Load(ReadModel(bytes));

    /// <summary>
    /// Rebuilds the model from a parsed ONNX model written by <see cref="OnnxExporter"/> (in eval mode). Before any
    /// tensor is allocated, the spec is validated and every initializer's declared shape is checked against its data and
    /// the spec's weight count, so an edited spec cannot make LibTorch allocate a model the file does not hold; weights
    /// must be finite and quantization scales finite and positive. Every problem is an <see cref="InvalidDataException"/>.
    /// </summary>
    public static DqModel Load(ModelProto model) => Load(model, InMemory);

    internal static DqModel Load(ModelProto model, string source)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (model.Graph is null) throw new InvalidDataException($"'{source}' has no graph.");
        var spec = ReadSpec(model, source);
        var initializers = new Dictionary<string, TensorProto>(StringComparer.Ordinal);
        foreach (var t in model.Graph.Initializer) initializers[t.Name] = t;
        InitializerChecks.CheckAgainstSpec(initializers, spec, source);
        var dq = ModelFactory.Create(spec);
        try
        {
            using (no_grad())
            {
                var outputs = model.Graph.Node.SelectMany(n => n.Output).ToHashSet(StringComparer.Ordinal);
                var reader = new Reader(initializers, outputs, source);
                var stages = dq.Stages;
                for (int i = 0; i < stages.Count; i++) reader.Stack($"s{i}", stages[i].Layers);
            }
            dq.eval();
            return dq;
        }
        catch
        {
            dq.Dispose();
            throw;
        }
    }

    private sealed class Reader(Dictionary<string, TensorProto> initializers, HashSet<string> nodeOutputs, string source)
    {
        private int featureChannels; // output channels of the last convolution read
        private int? flattenedChannels; // set after a channels-last Flatten, for the next Linear

        public void Stack(string prefix, IReadOnlyList<(string Name, nn.Module<Tensor, Tensor> Layer)> layers)
        {
            for (int i = 0; i < layers.Count; i++)
            {
                var (name, layer) = layers[i];
                var path = $"{prefix}.{name}";
                switch (layer)
                {
                    case QuantConv2d conv:
                        var bn = i + 1 < layers.Count ? layers[i + 1].Layer as BatchNorm2d : null;
                        Weights(path, conv.Weight, conv.Bias, bn);
                        featureChannels = (int)conv.Weight.shape[0];
                        if (bn is not null) i++;
                        break;
                    case Flatten when nodeOutputs.Contains(path + OnnxExporter.ChannelsLastSuffix):
                        flattenedChannels = featureChannels;
                        break;
                    case QuantLinear linear:
                        Weights(path, linear.Weight, linear.Bias, null, flattenedChannels);
                        flattenedChannels = null;
                        break;
                    case BatchNorm2d bn2d:
                        Copy(bn2d.weight, Float($"{path}.scale"));
                        Copy(bn2d.bias, Float($"{path}.bias"));
                        Copy(bn2d.running_mean, Float($"{path}.mean"));
                        Copy(bn2d.running_var, Float($"{path}.var"));
                        break;
                    case PreActivationBlock block:
                        Stack(path, new (string, nn.Module<Tensor, Tensor>)[] { ("bn1", block.Bn1) });
                        Stack(path, new (string, nn.Module<Tensor, Tensor>)[] { ("conv1", block.Conv1), ("bn2", block.Bn2), ("conv2", block.Conv2) });
                        if (block.Shortcut is not null) Stack(path, new (string, nn.Module<Tensor, Tensor>)[] { ("shortcut", block.Shortcut) });
                        block.OutputGrid = Grid(path, OnnxExporter.ResidualScaleSuffix, OnnxExporter.ResidualZeroPointSuffix);
                        block.SkipGrid = block.OutputGrid is null ? null : Grid(path, OnnxExporter.SkipScaleSuffix, OnnxExporter.SkipZeroPointSuffix);
                        break;
                    // Normalization comes from the spec; the other layers have no parameters.
                }
            }
        }

        private void Weights(string path, Tensor weight, Tensor? bias, BatchNorm2d? bn, int? channelsLastInput = null)
        {
            var w = Has($"{path}.weight_quantized")
                ? Dequantize($"{path}.weight_quantized", $"{path}.weight_scale")
                : Float($"{path}.weight");
            // The exporter permuted the columns for an input flattened channels-last; the model flattens channels-first.
            if (channelsLastInput is int channels)
                w = ExportedLayerWeights.PermuteColumns(w, (int)weight.shape[1], channels, toChannelsLast: false);
            Copy(weight, w);
            float[]? b = Has($"{path}.bias_quantized") ? Dequantize($"{path}.bias_quantized", $"{path}.bias_scale")
                : Has($"{path}.bias") ? Float($"{path}.bias") : null;
            if (bn is null)
            {
                if (bias is not null) Copy(bias, b ?? throw Missing($"{path}.bias"));
                return;
            }
            // Folded BatchNorm: identity statistics, the folded bias on whichever of conv/BN has one.
            int c = (int)bn.num_features;
            b ??= new float[c];
            if (bias is not null) Copy(bias, b);
            Copy(bn.weight, Enumerable.Repeat(1f, c).ToArray());
            Copy(bn.bias, bias is null ? b : new float[c]);
            Copy(bn.running_mean, new float[c]);
            Copy(bn.running_var, Enumerable.Repeat((float)(1 - bn.eps), c).ToArray());
        }

        /// <summary>
        /// The uint8 grid an export put a residual block's sum (or its identity shortcut) on, from its scalar scale and
        /// zero-point initializers; null when the file keeps that value in float.
        /// </summary>
        private UInt8Grid? Grid(string path, string scaleSuffix, string zeroPointSuffix)
        {
            string scaleName = path + scaleSuffix, zeroPointName = path + zeroPointSuffix;
            if (!Has(scaleName)) return null;
            var scale = Float(scaleName);
            var zp = Get(zeroPointName);
            if (scale.Length != 1 || !(scale[0] > 0) || zp.DataType != (int)TensorProto.Types.DataType.Uint8 || zp.RawData.Length != 1)
                throw new InvalidDataException(
                    $"'{source}': the residual grid '{scaleName}' / '{zeroPointName}' must be one positive float scale and one uint8 " +
                    "zero point. The file was modified after export: export the model again.");
            return new UInt8Grid(scale[0], zp.RawData[0]);
        }

        private bool Has(string name) => initializers.ContainsKey(name);

        private TensorProto Get(string name) => initializers.TryGetValue(name, out var t) ? t : throw Missing(name);

        private InvalidDataException Missing(string name) =>
            new($"'{source}' lacks the initializer '{name}' that its ModelSpec requires; it was modified after export or " +
                "written by a different DqMlNet version: export the model again.");

        private float[] Float(string name)
        {
            var t = Get(name);
            if (t.DataType != (int)TensorProto.Types.DataType.Float) throw new InvalidDataException($"'{source}': initializer '{name}' is not float.");
            var values = t.RawData.Length > 0 ? MemoryMarshal.Cast<byte, float>(t.RawData.Span).ToArray() : t.FloatData.ToArray();
            int bad = Array.FindIndex(values, v => !float.IsFinite(v));
            if (bad >= 0)
                throw new InvalidDataException(
                    $"'{source}': initializer '{name}' holds {values[bad]} at element {bad}; a model with NaN or infinite weights " +
                    "cannot score. The model diverged in training or the file was damaged: retrain or export it again.");
            return values;
        }

        /// <summary>scale[c] · q (per output channel, axis 0), exactly as DequantizeLinear computes it.</summary>
        private float[] Dequantize(string quantized, string scaleName)
        {
            var q = Get(quantized);
            var scale = Float(scaleName);
            long channels = q.Dims.Count > 0 ? q.Dims[0] : 0;
            if (scale.Length == 0 || scale.Length != channels)
                throw new InvalidDataException(
                    $"'{source}': initializer '{scaleName}' holds {scale.Length} scales but '{quantized}' has {channels} output channels " +
                    "(one scale per channel is required). Export the model again.");
            int zero = Array.FindIndex(scale, v => !(v > 0));
            if (zero >= 0)
                throw new InvalidDataException(
                    $"'{source}': initializer '{scaleName}' holds scale {scale[zero]} for channel {zero}; quantization scales must be " +
                    "finite and positive. Export the model again.");
            float[] values = q.DataType switch
            {
                (int)TensorProto.Types.DataType.Int8 => MemoryMarshal.Cast<byte, sbyte>(q.RawData.Span).ToArray().Select(v => (float)v).ToArray(),
                (int)TensorProto.Types.DataType.Int32 => MemoryMarshal.Cast<byte, int>(q.RawData.Span).ToArray().Select(v => (float)v).ToArray(),
                _ => throw new InvalidDataException($"'{source}': initializer '{quantized}' has unsupported type {q.DataType}."),
            };
            if (values.Length % scale.Length != 0)
                throw new InvalidDataException($"'{source}': initializer '{quantized}' holds {values.Length} values, not a whole number per channel of '{scaleName}'.");
            return ExportedLayerWeights.ScalePerChannel(values, scale);
        }

        private void Copy(Tensor? target, float[] values)
        {
            if (target is null) return;
            if (values.Length != target.numel())
                throw new InvalidDataException($"'{source}': an initializer has {values.Length} values but the layer expects {target.numel()}; export the model again.");
            using var src = tensor(values).reshape(target.shape);
            target.copy_(src);
        }
    }
}
