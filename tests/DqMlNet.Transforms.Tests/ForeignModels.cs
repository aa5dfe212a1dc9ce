using System.Runtime.InteropServices;
using Google.Protobuf;
using Onnx;

namespace DqMlNet.Transforms.Tests;

/// <summary>Hand-built ONNX classifiers that DqMlNet did not write.</summary>
internal static class ForeignModels
{
    /// <summary>The weights of <see cref="TinyClassifier"/>: logits = mean over H, W of x [N, 3, 4, 4] times W [3, 5].</summary>
    public static readonly float[] Weights = Enumerable.Range(0, 15).Select(i => (i - 7) * 0.25f).ToArray();

    /// <summary>Input "x" [batch, 3, 4, 4] → GlobalAveragePool → Flatten → MatMul → output "y" (logits) [batch, 5].</summary>
    public static byte[] TinyClassifier()
    {
        var graph = new GraphProto { Name = "foreign" };
        graph.Input.Add(Value("x", 3, 4, 4));
        graph.Output.Add(Value("y", 5));
        var w = new TensorProto { Name = "W", DataType = (int)TensorProto.Types.DataType.Float, RawData = ByteString.CopyFrom(MemoryMarshal.AsBytes(Weights.AsSpan())) };
        w.Dims.AddRange(new long[] { 3, 5 });
        graph.Initializer.Add(w);
        graph.Node.Add(Node("GlobalAveragePool", new[] { "x" }, "pooled"));
        var flatten = Node("Flatten", new[] { "pooled" }, "flat");
        flatten.Attribute.Add(new AttributeProto { Name = "axis", Type = AttributeProto.Types.AttributeType.Int, I = 1 });
        graph.Node.Add(flatten);
        graph.Node.Add(Node("MatMul", new[] { "flat", "W" }, "y"));
        var model = new ModelProto { IrVersion = 8, ProducerName = "hand", Graph = graph };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = 17 });
        return model.ToByteArray();
    }

    /// <summary>
    /// A DqMlNet export turned foreign: without its <c>logits</c> output (probabilities alone, as many published
    /// classifiers ship) and without DqMlNet metadata.
    /// </summary>
    public static byte[] WithoutLogits(ModelProto export)
    {
        var model = export.Clone();
        var logits = model.Graph.Output.Single(o => o.Name == "logits");
        model.Graph.Output.Remove(logits);
        model.MetadataProps.Clear();
        return model.ToByteArray();
    }

    private static NodeProto Node(string op, string[] inputs, string output)
    {
        var n = new NodeProto { OpType = op, Name = op };
        n.Input.AddRange(inputs);
        n.Output.Add(output);
        return n;
    }

    private static ValueInfoProto Value(string name, params long[] dims)
    {
        var shape = new TensorShapeProto();
        shape.Dim.Add(new TensorShapeProto.Types.Dimension { DimParam = "batch" });
        foreach (var d in dims) shape.Dim.Add(new TensorShapeProto.Types.Dimension { DimValue = d });
        return new ValueInfoProto { Name = name, Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = 1, Shape = shape } } };
    }
}
