using System.Globalization;
using System.Text.Json;
using DqMlNet.Transforms.Onnx;
using Google.Protobuf;
using Microsoft.ML;
using Microsoft.ML.Data;
using Onnx;

namespace DqMlNet.Transforms;

/// <summary>
/// How a <see cref="DefensiveQuantizationTransformer"/> is saved: ML.NET's model format is closed to third-party transformers, so the
/// stage saves itself as built-in, loadable stages that compute the same thing — [ExtractPixels for an MLImage input]
/// → OnnxTransformer (the model's export wrapped to take the flat pixel column and return <c>Score</c> [K] and the
/// arg-max index) → ValueMapping (index → the label's key values, as a key) → DropColumns. Plain
/// <c>mlContext.Model.Load</c> therefore needs no DqMlNet code; the arg-max comes back as a one-slot vector because
/// ML.NET's ONNX stage has no scalar outputs. <see cref="DqModelFile.Load"/> restores the typed stage from the
/// same file.
/// </summary>
internal static class MlNetOnnxStage
{
    internal const string ValueColumn = "__dq_value__";
    internal const string ColumnsKey = "dqmlnet.mlnet.columns";
    internal const string LabelsKey = "dqmlnet.mlnet.labels";
    internal const string ImageInputKey = "dqmlnet.mlnet.image_input";

    public static void Save(MlNetHost ml, DefensiveQuantizationTransformer stage, ModelSaveContext ctx)
    {
        var chain = Build(ml, stage, out var temp);
        try
        {
            ((ICanSaveModel)chain).Save(ctx);
        }
        finally
        {
            File.Delete(temp);
        }
    }

    /// <summary>The stand-in chain (its ONNX file is <paramref name="tempFile"/>, which the caller deletes after saving).</summary>
    private static TransformerChain<ITransformer> Build(MlNetHost ml, DefensiveQuantizationTransformer stage, out string tempFile)
    {
        // The input schema the stage was fitted against is not kept; rebuild a minimal one for fitting the stand-ins.
        var builder = new DataViewSchema.Builder();
        bool image = stage.ImageInputSchema is not null;
        if (image) builder.AddColumns(stage.ImageInputSchema!);
        else builder.AddColumn(stage.Columns.Features, new VectorDataViewType(NumberDataViewType.Single, stage.Scorer.PixelsPerImage));
        IDataView view = new EmptyDataView(builder.ToSchema());

        var transformers = new List<ITransformer>();
        string onnxInput = stage.Columns.Features;
        if (image)
        {
            var pixels = stage.PixelStage(view.Schema);
            transformers.Add(pixels);
            view = pixels.Transform(view);
            onnxInput = DefensiveQuantizationTransformer.PixelColumn;
        }

        tempFile = Path.Combine(Path.GetTempPath(), $"dqmlnet-{Guid.NewGuid():N}.onnx");
        File.WriteAllBytes(tempFile, Wrap(stage, onnxInput, image).ToByteArray());
        var onnx = ml.Transforms.ApplyOnnxModel(new[] { stage.Columns.Score, ValueColumn }, new[] { onnxInput }, tempFile).Fit(view);
        transformers.Add(onnx);
        view = onnx.Transform(view);

        var mapping = MapIndexToLabel(ml, stage, view);
        transformers.Add(mapping);
        view = mapping.Transform(view);

        var drop = ml.Transforms.DropColumns(image ? new[] { ValueColumn, DefensiveQuantizationTransformer.PixelColumn } : new[] { ValueColumn }).Fit(view);
        transformers.Add(drop);
        return new TransformerChain<ITransformer>(transformers.ToArray());
    }

    /// <summary>The model's export, taking [1, C·H·W] and returning Score [K] and the arg-max index [1].</summary>
    internal static ModelProto Wrap(DefensiveQuantizationTransformer stage, string inputName, bool imageInput)
    {
        var model = OnnxModelLoader.ReadModel(stage.Scorer.Onnx);
        var graph = model.Graph;
        var spec = stage.Model.Spec;
        const string image4d = "__dq_image4d__";
        foreach (var node in graph.Node)
            for (int i = 0; i < node.Input.Count; i++)
                if (node.Input[i] == OnnxMetadataKeys.InputName) node.Input[i] = image4d;
        graph.Input.Clear();
        graph.Input.Add(Tensor(inputName, TensorProto.Types.DataType.Float, 1, stage.Scorer.PixelsPerImage));
        graph.Initializer.Add(Int64s("__dq_shape4d__", 1, spec.Channels, spec.Height, spec.Width));
        graph.Initializer.Add(Int64s("__dq_shapeK__", spec.NumClasses));
        graph.Node.Insert(0, Node("Reshape", new[] { inputName, "__dq_shape4d__" }, image4d));
        graph.Node.Add(Node("Reshape", new[] { "probabilities", "__dq_shapeK__" }, stage.Columns.Score));
        var argmax = Node("ArgMax", new[] { "probabilities" }, "__dq_index__");
        argmax.Attribute.Add(new AttributeProto { Name = "axis", I = 1, Type = AttributeProto.Types.AttributeType.Int });
        argmax.Attribute.Add(new AttributeProto { Name = "keepdims", I = 0, Type = AttributeProto.Types.AttributeType.Int });
        graph.Node.Add(argmax);
        // The predicted label's value (same type as the label's key values), which ValueToKey maps to the same keys.
        var (valuesTensor, valueType) = LabelValues(stage.Labels);
        graph.Initializer.Add(valuesTensor);
        graph.Node.Add(Node("Gather", new[] { valuesTensor.Name, "__dq_index__" }, ValueColumn));
        graph.Output.Clear();
        graph.Output.Add(Tensor(stage.Columns.Score, TensorProto.Types.DataType.Float, spec.NumClasses));
        graph.Output.Add(Tensor(ValueColumn, valueType, 1));

        model.MetadataProps.Add(new StringStringEntryProto { Key = ColumnsKey, Value = JsonSerializer.Serialize(stage.Columns) });
        model.MetadataProps.Add(new StringStringEntryProto { Key = ImageInputKey, Value = imageInput ? "true" : "false" });
        model.MetadataProps.Add(new StringStringEntryProto
        {
            Key = LabelsKey,
            Value = JsonSerializer.Serialize(new LabelRecord(stage.Labels.ValueType?.RawType.Name ?? "", stage.Labels.ClassNames.ToArray())),
        });
        return model;
    }

    internal sealed record LabelRecord(string ValueType, string[] Values);

    /// <summary>Reverses <see cref="Wrap"/>: the model's standard export (input [N, C, H, W], output probabilities).</summary>
    internal static ModelProto Unwrap(ModelProto wrapped, DqColumns columns)
    {
        var model = wrapped.Clone();
        var graph = model.Graph;
        var spec = OnnxModelLoader.ReadSpec(model);
        foreach (var node in graph.Node.Where(n => n.Name.StartsWith("__dq_", StringComparison.Ordinal)).ToList()) graph.Node.Remove(node);
        foreach (var init in graph.Initializer.Where(t => t.Name.StartsWith("__dq_", StringComparison.Ordinal)).ToList()) graph.Initializer.Remove(init);
        foreach (var node in graph.Node)
            for (int i = 0; i < node.Input.Count; i++)
                if (node.Input[i] == "__dq_image4d__") node.Input[i] = OnnxMetadataKeys.InputName;
        graph.Input.Clear();
        graph.Input.Add(DynamicTensor(OnnxMetadataKeys.InputName, spec.Channels, spec.Height, spec.Width));
        graph.Output.Clear();
        graph.Output.Add(DynamicTensor("probabilities", spec.NumClasses));
        foreach (var key in new[] { ColumnsKey, LabelsKey, ImageInputKey })
            foreach (var entry in model.MetadataProps.Where(p => p.Key == key).ToList()) model.MetadataProps.Remove(entry);
        return model;
    }

    private static ValueInfoProto DynamicTensor(string name, params long[] dims)
    {
        var shape = new TensorShapeProto();
        shape.Dim.Add(new TensorShapeProto.Types.Dimension { DimParam = "N" });
        foreach (var d in dims) shape.Dim.Add(new TensorShapeProto.Types.Dimension { DimValue = d });
        return new ValueInfoProto { Name = name, Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)TensorProto.Types.DataType.Float, Shape = shape } } };
    }

    /// <summary>The label's key values as an ONNX initializer of the matching element type.</summary>
    private static (TensorProto Tensor, TensorProto.Types.DataType Type) LabelValues(DqLabelInfo labels)
    {
        var raw = labels.ValueType?.RawType;
        var tensor = new TensorProto { Name = "__dq_label_values__" };
        tensor.Dims.Add(labels.Count);
        TensorProto.Types.DataType type;
        if (raw is null || raw == typeof(ReadOnlyMemory<char>))
        {
            type = TensorProto.Types.DataType.String;
            foreach (var name in labels.ClassNames) tensor.StringData.Add(ByteString.CopyFromUtf8(name));
        }
        else
        {
            (type, byte[] bytes) = labels.Values switch
            {
                uint[] v => (TensorProto.Types.DataType.Uint32, System.Runtime.InteropServices.MemoryMarshal.AsBytes(v.AsSpan()).ToArray()),
                int[] v => (TensorProto.Types.DataType.Int32, System.Runtime.InteropServices.MemoryMarshal.AsBytes(v.AsSpan()).ToArray()),
                long[] v => (TensorProto.Types.DataType.Int64, System.Runtime.InteropServices.MemoryMarshal.AsBytes(v.AsSpan()).ToArray()),
                ulong[] v => (TensorProto.Types.DataType.Uint64, System.Runtime.InteropServices.MemoryMarshal.AsBytes(v.AsSpan()).ToArray()),
                float[] v => (TensorProto.Types.DataType.Float, System.Runtime.InteropServices.MemoryMarshal.AsBytes(v.AsSpan()).ToArray()),
                double[] v => (TensorProto.Types.DataType.Double, System.Runtime.InteropServices.MemoryMarshal.AsBytes(v.AsSpan()).ToArray()),
                bool[] v => (TensorProto.Types.DataType.Bool, v.Select(b => b ? (byte)1 : (byte)0).ToArray()),
                _ => throw new NotSupportedException($"Label key values of type {raw.Name} cannot be saved; map the label from text or integers."),
            };
            tensor.RawData = ByteString.CopyFrom(bytes);
        }
        tensor.DataType = (int)type;
        return (tensor, type);
    }

    /// <summary>ValueToKey from the predicted label value to the label's keys (same key values, same order).</summary>
    private static ITransformer MapIndexToLabel(MlNetHost ml, DefensiveQuantizationTransformer stage, IDataView view)
    {
        var labels = stage.Labels;
        var raw = labels.ValueType?.RawType;
        if (raw is null || raw == typeof(ReadOnlyMemory<char>))
            return KeyMap(ml, view, stage.Columns.PredictedLabel, labels.ClassNames.ToArray());
        var method = typeof(MlNetOnnxStage).GetMethod(nameof(KeyMap), System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Static)!
            .MakeGenericMethod(raw);
        return (ITransformer)method.Invoke(null, new object[] { ml, view, stage.Columns.PredictedLabel, labels.Values! })!;
    }

    private static ITransformer KeyMap<T>(MlNetHost ml, IDataView view, string output, T[] values)
    {
        var definition = Microsoft.ML.Data.SchemaDefinition.Create(typeof(ValueRow<T>));
        definition[0].ColumnName = ValueColumn;
        var keyData = ml.Data.LoadFromEnumerable(values.Select(v => new ValueRow<T> { Value = v }), definition);
        return ml.Transforms.Conversion.MapValueToKey(output, ValueColumn, keyOrdinality: Microsoft.ML.Transforms.ValueToKeyMappingEstimator.KeyOrdinality.ByOccurrence, keyData: keyData).Fit(view);
    }

    private sealed class ValueRow<T>
    {
        public T Value { get; set; } = default!;
    }

    private static NodeProto Node(string op, string[] inputs, string output)
    {
        var node = new NodeProto { OpType = op, Name = "__dq_" + output + "_" + op };
        node.Input.AddRange(inputs);
        node.Output.Add(output);
        return node;
    }

    private static ValueInfoProto Tensor(string name, TensorProto.Types.DataType type, params long[] dims)
    {
        var shape = new TensorShapeProto();
        foreach (var d in dims) shape.Dim.Add(new TensorShapeProto.Types.Dimension { DimValue = d });
        return new ValueInfoProto { Name = name, Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)type, Shape = shape } } };
    }

    private static TensorProto Int64s(string name, params long[] values)
    {
        var t = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Int64 };
        t.Dims.Add(values.Length);
        t.Int64Data.AddRange(values);
        return t;
    }

    internal static string Format(object? value) => Convert.ToString(value, CultureInfo.InvariantCulture) ?? "";
}
