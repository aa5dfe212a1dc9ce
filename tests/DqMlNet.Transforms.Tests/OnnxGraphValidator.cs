using Onnx;
using DataType = Onnx.TensorProto.Types.DataType;

namespace DqMlNet.Transforms.Tests;

/// <summary>Structural checks of a ModelProto in C# (a subset of onnx.checker plus our export contract).</summary>
internal static class OnnxGraphValidator
{
    /// <summary>Returns every problem found (empty = valid).</summary>
    public static List<string> Validate(ModelProto model)
    {
        var problems = new List<string>();
        var graph = model.Graph;
        if (model.IrVersion < 7) problems.Add($"ir_version {model.IrVersion} < 7");
        var opset = model.OpsetImport.SingleOrDefault(o => o.Domain == "");
        if (opset is null || opset.Version < 13) problems.Add("default-domain opset < 13");

        var types = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var i in graph.Input) types[i.Name] = i.Type.TensorType.ElemType;
        foreach (var t in graph.Initializer)
        {
            if (!types.TryAdd(t.Name, t.DataType)) problems.Add($"duplicate name '{t.Name}'");
            long expected = t.Dims.Aggregate(1L, (a, b) => a * b) * ElementSize(t.DataType);
            if (t.RawData.Length != expected) problems.Add($"initializer '{t.Name}' has {t.RawData.Length} bytes, expected {expected}");
        }

        var produced = new HashSet<string>(types.Keys, StringComparer.Ordinal);
        foreach (var node in graph.Node)
        {
            foreach (var input in node.Input)
                if (input.Length > 0 && !produced.Contains(input))
                    problems.Add($"node {node.Name} ({node.OpType}) reads '{input}' before it is produced");
            foreach (var output in node.Output)
                if (!produced.Add(output)) problems.Add($"value '{output}' is produced twice");

            if (node.OpType is "QuantizeLinear" or "DequantizeLinear")
            {
                if (node.Input.Count != 3) problems.Add($"{node.Name}: Q/DQ without an explicit zero point");
                else
                {
                    types.TryGetValue(node.Input[1], out var scaleType);
                    if (scaleType != (int)DataType.Float) problems.Add($"{node.Name}: scale is not float");
                    if (!types.TryGetValue(node.Input[2], out var zpType)) problems.Add($"{node.Name}: zero point is not an initializer");
                    else if (node.OpType == "QuantizeLinear" && zpType != (int)DataType.Uint8) problems.Add($"{node.Name}: activations must quantize to uint8");
                    else if (node.OpType == "DequantizeLinear" && types.TryGetValue(node.Input[0], out var qType) && qType != zpType)
                        problems.Add($"{node.Name}: input and zero point types differ");
                }
                if (node.OpType == "QuantizeLinear") types[node.Output[0]] = (int)DataType.Uint8;
                else types[node.Output[0]] = (int)DataType.Float;
            }
        }

        foreach (var output in graph.Output)
            if (!produced.Contains(output.Name)) problems.Add($"graph output '{output.Name}' is never produced");
        foreach (var value in graph.Input.Concat(graph.Output))
        {
            var dims = value.Type.TensorType.Shape.Dim;
            if (dims.Count == 0 || dims[0].ValueCase != TensorShapeProto.Types.Dimension.ValueOneofCase.DimParam)
                problems.Add($"'{value.Name}' has no symbolic (dynamic) batch dimension");
        }
        return problems;
    }

    private static int ElementSize(int type) => type switch
    {
        (int)DataType.Float or (int)DataType.Int32 => 4,
        (int)DataType.Int8 or (int)DataType.Uint8 => 1,
        (int)DataType.Int64 => 8,
        _ => throw new NotSupportedException($"data type {type}"),
    };
}
