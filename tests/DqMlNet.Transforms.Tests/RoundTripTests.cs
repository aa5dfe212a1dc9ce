using DqMlNet.Transforms.Onnx;
using Xunit.Abstractions;

namespace DqMlNet.Transforms.Tests;

/// <summary>(d) Rebuilding a DqModel from our ONNX files (metadata → ModelSpec → weights).</summary>
[Collection(TrainedModelsCollection.Name)]
public sealed class RoundTripTests(TrainedModels models, ITestOutputHelper output)
{
    private Agreement Compare(string name, OnnxExportOptions? options, Func<string, Agreement>? extra = null)
    {
        var model = models.Get(name);
        var path = Path.Combine(models.Directory, $"{name}.roundtrip.onnx");
        OnnxExporter.Export(model, path, options);
        using var rebuilt = OnnxModelLoader.Load(path);
        Assert.Equal(model.Spec, rebuilt.Spec);
        Assert.Equal(model.GetType(), rebuilt.GetType());
        Assert.False(rebuilt.training);
        var a = Agreement.Of(
            TrainedModels.TorchProbabilities(model, models.Test.Images),
            TrainedModels.TorchProbabilities(rebuilt, models.Test.Images), 10);
        output.WriteLine($"{name} rebuilt vs original: {a}");
        return a;
    }

    [Theory]
    [InlineData("fp")]
    [InlineData("vgg-fp")] // BatchNorm folded on export, identity BatchNorm on load
    [InlineData("wrn-fp")]
    public void Full_precision_model_comes_back(string name)
    {
        var a = Compare(name, null);
        Assert.Equal(1.0, a.LabelAgreement);
        Assert.True(a.MaxProbabilityDifference <= 1e-4, a.ToString());
    }

    [Theory]
    [InlineData("vq4")]
    [InlineData("dq4")]
    public void Quantized_model_with_float_weights_comes_back_exactly(string name)
    {
        var a = Compare(name, new OnnxExportOptions { QuantizeWeights = false });
        Assert.Equal(1.0, a.LabelAgreement);
        Assert.True(a.MaxProbabilityDifference <= 1e-6, a.ToString());
    }

    [Fact]
    public void Weight_quantized_model_comes_back_on_the_same_grid()
    {
        // 4-bit weights and BatchNorm: int8 export on the 4-bit grid, rebuilt = the ONNX function.
        var model = models.Get("vq4-w4");
        var bytes = OnnxExporter.ToBytes(model);
        using var rebuilt = OnnxModelLoader.Load(bytes);
        using var classifier = new OnnxClassifier(bytes);
        var ort = Agreement.Of(TrainedModels.TorchProbabilities(rebuilt, models.Test.Images), classifier.Predict(models.Test.Images).Probabilities, 10);
        var original = Agreement.Of(TrainedModels.TorchProbabilities(model, models.Test.Images), TrainedModels.TorchProbabilities(rebuilt, models.Test.Images), 10);
        output.WriteLine($"vq4-w4 rebuilt vs ORT: {ort}; rebuilt vs original (BatchNorm unfolded): {original}");
        Assert.True(ort.LabelAgreement >= 0.995, ort.ToString());
        var meta = OnnxModelLoader.Metadata(OnnxModelLoader.ReadModel(bytes));
        Assert.StartsWith("int8 per output channel (4-bit", meta[OnnxMetadataKeys.ExportedWeights]);
    }

    [Fact]
    public void Foreign_onnx_is_rejected_with_a_clear_message()
    {
        var e = Assert.Throws<InvalidDataException>(() => OnnxModelLoader.Load(ForeignModels.TinyClassifier()));
        Assert.Contains("not written by DqMlNet", e.Message);
        Assert.Throws<InvalidDataException>(() => OnnxModelLoader.Load(new byte[] { 1, 2, 3, 4, 5 }));
    }
}
