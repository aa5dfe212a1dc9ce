using DqMlNet.Transforms.Onnx;
using Microsoft.ML.OnnxRuntime;
using Xunit.Abstractions;

namespace DqMlNet.Transforms.Tests;

/// <summary>(c) ONNX Runtime turns the QDQ graph into integer kernels.</summary>
[Collection(TrainedModelsCollection.Name)]
public sealed class IntegerKernelTests(TrainedModels models, ITestOutputHelper output)
{
    private static readonly string[] IntegerOps = { "QLinearConv", "ConvInteger", "QLinearMatMul", "MatMulInteger", "QGemm", "MatMulIntegerToFloat", "DynamicQuantizeMatMul" };

    [Theory]
    [InlineData("vq4", new[] { "QLinearConv", "QGemm" })]
    [InlineData("vgg-vq4", new[] { "QLinearConv" })]
    [InlineData("wrn-vq4", new[] { "QLinearConv" })]
    public void Optimised_graph_contains_integer_kernels(string name, string[] expected)
    {
        var path = Path.Combine(models.Directory, $"{name}.onnx");
        var optimized = Path.Combine(models.Directory, $"{name}.optimized.onnx");
        OnnxExporter.Export(models.Get(name), path);
        using (new OnnxClassifier(path, new OnnxClassifierOptions
        {
            OptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_EXTENDED,
            OptimizedModelFilePath = optimized,
        })) { }

        var ops = OnnxModelLoader.ReadModel(optimized).Graph.Node.Select(n => n.OpType).ToList();
        var integer = ops.Where(IntegerOps.Contains).GroupBy(o => o).Select(g => $"{g.Key}×{g.Count()}");
        output.WriteLine($"{name}: integer kernels {string.Join(", ", integer)}; all ops: {string.Join(" ", ops)}");
        foreach (var op in expected) Assert.Contains(op, ops);
    }
}
