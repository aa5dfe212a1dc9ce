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

    /// <summary>
    /// With all optimisations (the default), everything after the first (float) convolution runs on integers: one
    /// QuantizeLinear, max pools in channels-last uint8 (NhwcMaxPool) or in float right behind the first convolution, never
    /// a uint8 MaxPool in NCHW layout (ORT's slow generic kernel, which made the QDQ model slower than fp32 before).
    /// </summary>
    [Theory]
    [InlineData("vq4")]
    [InlineData("vgg-vq4")]
    public void Fully_optimised_graph_stays_in_integers_after_the_first_convolution(string name)
    {
        var path = Path.Combine(models.Directory, $"{name}.all.onnx");
        var optimized = Path.Combine(models.Directory, $"{name}.all.optimized.onnx");
        OnnxExporter.Export(models.Get(name), path);
        using (new OnnxClassifier(path, new OnnxClassifierOptions { OptimizedModelFilePath = optimized })) { }

        var nodes = OnnxModelLoader.ReadModel(optimized).Graph.Node;
        output.WriteLine($"{name}: {string.Join(" ", nodes.Select(n => n.Domain.Length == 0 ? n.OpType : $"{n.Domain}.{n.OpType}"))}");
        Assert.Single(nodes, n => n.OpType == "QuantizeLinear");
        Assert.Contains(nodes, n => n.OpType == "NhwcMaxPool");
        // A MaxPool left in the ONNX domain must be a float one (behind the first convolution), never a uint8 one.
        foreach (var pool in nodes.Where(n => n.OpType == "MaxPool" && n.Domain.Length == 0))
            Assert.Contains(nodes.Single(n => n.Output.Contains(pool.Input[0])).OpType, new[] { "ReorderOutput", "Conv" });
        Assert.DoesNotContain(nodes, n => n.OpType == "Conv" && n.Domain.Length == 0); // float convs run blocked (NCHWc)
    }

    /// <summary>
    /// WRN with its residual stream on uint8 (<see cref="OnnxExportOptions.QuantizeResiduals"/>): after the stem, every convolution — also the ones feeding the
    /// residual sums — is a QLinearConv and every residual sum a QLinearAdd; nothing adds in float. With the residual
    /// stream kept float (the default), the convolutions into the sums stay float convolutions.
    /// </summary>
    [Fact]
    public void Wide_resnet_residual_sums_run_as_integer_kernels()
    {
        var model = models.Get("wrn-vq4");
        var blocks = model.modules().OfType<DqMlNet.Models.PreActivationBlock>().ToList();

        var fused = OptimizedGraph(model, new OnnxExportOptions { QuantizeResiduals = true }, "wrn-vq4.residual");
        output.WriteLine($"uint8 residual: {Summary(fused)}");
        Assert.Equal(blocks.Count, fused.Count(n => n.OpType == "QLinearAdd"));
        Assert.DoesNotContain(fused, n => n.OpType == "Add");
        // Every convolution but the stem (on the float image) runs as a QLinearConv, the residual ones included.
        var integerWeights = fused.Where(n => n.OpType == "QLinearConv").Select(n => n.Input[3]).ToHashSet();
        var convolutions = ConvolutionWeights(model).Where(w => w != "s0.conv.weight_quantized").ToList();
        Assert.Equal(blocks.Count + blocks.Count(b => b.Shortcut is not null) + blocks.Count, convolutions.Count);
        Assert.All(convolutions, w => Assert.Contains(w, integerWeights));

        var floatResidual = OptimizedGraph(model, new OnnxExportOptions(), "wrn-vq4.float-residual");
        output.WriteLine($"float residual (default): {Summary(floatResidual)}");
        Assert.Equal(0, floatResidual.Count(n => n.OpType == "QLinearAdd"));
        Assert.Equal(blocks.Count, floatResidual.Count(n => n.OpType == "QLinearConv")); // only each block's first convolution
    }

    /// <summary>Initializer names of every convolution weight in the uint8-residual export (all int8 there but the stem's).</summary>
    private static List<string> ConvolutionWeights(DqMlNet.Models.DqModel model) =>
        OnnxExporter.ToModelProto(model, new OnnxExportOptions { QuantizeResiduals = true, IntegerWeightsOnly = true }).Graph.Initializer
            .Where(t => t.Name.EndsWith(".weight_quantized", StringComparison.Ordinal) && t.Dims.Count == 4).Select(t => t.Name).ToList();

    /// <summary>The nodes of ORT's fully optimised graph of the export.</summary>
    private List<global::Onnx.NodeProto> OptimizedGraph(DqMlNet.Models.DqModel model, OnnxExportOptions options, string name)
    {
        var path = Path.Combine(models.Directory, $"{name}.onnx");
        var optimized = Path.Combine(models.Directory, $"{name}.optimized.onnx");
        OnnxExporter.Export(model, path, options);
        using (new OnnxClassifier(path, new OnnxClassifierOptions { OptimizedModelFilePath = optimized })) { }
        return OnnxModelLoader.ReadModel(optimized).Graph.Node.ToList();
    }

    private static string Summary(List<global::Onnx.NodeProto> nodes) =>
        string.Join(", ", nodes.GroupBy(n => n.OpType).OrderByDescending(g => g.Count()).Select(g => $"{g.Key}×{g.Count()}"));
}
