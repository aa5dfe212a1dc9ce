using System.Runtime.InteropServices;
using Google.Protobuf;
using Onnx;

namespace DqMlNet.Transforms.Onnx;

/// <summary>
/// Appends nodes and initializers to an ONNX <see cref="GraphProto"/> with unique names (internal helper of
/// <see cref="OnnxExporter"/>).
/// </summary>
internal sealed class OnnxGraphBuilder
{
    private readonly HashSet<string> names = new(StringComparer.Ordinal);
    private int counter;

    public OnnxGraphBuilder(string name) => Graph = new GraphProto { Name = name };

    public GraphProto Graph { get; }

    /// <summary>A fresh value name based on <paramref name="hint"/>.</summary>
    public string Fresh(string hint)
    {
        var name = hint;
        while (!names.Add(name)) name = $"{hint}_{++counter}";
        return name;
    }

    public bool HasInitializer(string name) => Graph.Initializer.Any(t => t.Name == name);

    public string Initializer(string name, ReadOnlySpan<float> data, params long[] dims) =>
        AddInitializer(name, TensorProto.Types.DataType.Float, MemoryMarshal.AsBytes(data), dims);

    public string Initializer(string name, ReadOnlySpan<sbyte> data, params long[] dims) =>
        AddInitializer(name, TensorProto.Types.DataType.Int8, MemoryMarshal.AsBytes(data), dims);

    public string Initializer(string name, ReadOnlySpan<byte> data, params long[] dims) =>
        AddInitializer(name, TensorProto.Types.DataType.Uint8, data, dims);

    public string Initializer(string name, ReadOnlySpan<int> data, params long[] dims) =>
        AddInitializer(name, TensorProto.Types.DataType.Int32, MemoryMarshal.AsBytes(data), dims);

    /// <summary>A shared scalar float constant (created once per distinct name).</summary>
    public string ScalarFloat(string name, float value) =>
        HasInitializer(name) ? name : Initializer(name, new[] { value });

    /// <summary>A shared scalar uint8 constant (created once per distinct name).</summary>
    public string ScalarUInt8(string name, byte value) =>
        HasInitializer(name) ? name : Initializer(name, new[] { value });

    private string AddInitializer(string name, TensorProto.Types.DataType type, ReadOnlySpan<byte> bytes, long[] dims)
    {
        if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("ONNX raw tensor data is little-endian.");
        if (!names.Add(name)) throw new InvalidOperationException($"Duplicate ONNX value name '{name}'.");
        var tensor = new TensorProto { Name = name, DataType = (int)type, RawData = ByteString.CopyFrom(bytes) };
        tensor.Dims.AddRange(dims);
        Graph.Initializer.Add(tensor);
        return name;
    }

    /// <summary>Adds a node with one output (named after <paramref name="outputHint"/>) and returns that output.</summary>
    public string Node(string opType, string outputHint, IEnumerable<string> inputs, params AttributeProto[] attributes)
    {
        var output = Fresh(outputHint);
        NodeWithOutputs(opType, inputs, new[] { output }, attributes);
        return output;
    }

    /// <summary>Adds a node with the given outputs.</summary>
    public void NodeWithOutputs(string opType, IEnumerable<string> inputs, IEnumerable<string> outputs, params AttributeProto[] attributes)
    {
        var node = new NodeProto { OpType = opType, Name = $"{opType}_{Graph.Node.Count}" };
        node.Input.AddRange(inputs);
        node.Output.AddRange(outputs);
        node.Attribute.AddRange(attributes);
        Graph.Node.Add(node);
    }

    public static AttributeProto Int(string name, long value) =>
        new() { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = value };

    public static AttributeProto Float(string name, float value) =>
        new() { Name = name, Type = AttributeProto.Types.AttributeType.Float, F = value };

    public static AttributeProto Ints(string name, params long[] values)
    {
        var a = new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Ints };
        a.Ints.AddRange(values);
        return a;
    }

    /// <summary>A float tensor value info with a symbolic batch dimension <c>N</c> followed by fixed dimensions.</summary>
    public static ValueInfoProto FloatBatchValue(string name, params long[] fixedDims)
    {
        var shape = new TensorShapeProto();
        shape.Dim.Add(new TensorShapeProto.Types.Dimension { DimParam = "N" });
        foreach (var d in fixedDims) shape.Dim.Add(new TensorShapeProto.Types.Dimension { DimValue = d });
        return new ValueInfoProto
        {
            Name = name,
            Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)TensorProto.Types.DataType.Float, Shape = shape } },
        };
    }
}
