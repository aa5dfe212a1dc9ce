namespace DqMlNet.Bench;

/// <summary>Node counts per op type of an ONNX graph (e.g. the file ONNX Runtime writes after optimising).</summary>
internal static class OptimizedGraphCounts
{
    public static Dictionary<string, int> Of(byte[] onnx) =>
        Onnx.ModelProto.Parser.ParseFrom(onnx).Graph.Node.GroupBy(n => n.OpType).ToDictionary(g => g.Key, g => g.Count());
}
