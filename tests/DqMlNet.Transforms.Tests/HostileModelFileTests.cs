using System.IO.Compression;
using MemoryMarshal = System.Runtime.InteropServices.MemoryMarshal;
using DqMlNet.Models;
using DqMlNet.Transforms.Onnx;
using Google.Protobuf;
using Microsoft.ML;
using Onnx;
using static TorchSharp.torch;

namespace DqMlNet.Transforms.Tests;

/// <summary>
/// Edited and damaged model files: each is refused with an <see cref="InvalidDataException"/> naming the file and the
/// field, before a model is built from a spec the file does not back up.
/// </summary>
public sealed class HostileModelFileTests : IDisposable
{
    private readonly string dir = TestData.TempDirectory();

    public void Dispose()
    {
        ModelFileLimits.Reset();
        Directory.Delete(dir, recursive: true);
    }

    private static ModelProto Export(bool quantizeWeights)
    {
        manual_seed(3);
        using var model = ModelFactory.Create(TestData.Spec(Architecture.SmallCnn, TrainingMode.Vanilla));
        return OnnxExporter.ToModelProto(model, new OnnxExportOptions { QuantizeWeights = quantizeWeights });
    }

    private static void SetSpec(ModelProto model, ModelSpec spec) =>
        model.MetadataProps.Single(p => p.Key == OnnxMetadataKeys.ModelSpec).Value = spec.ToJson();

    private string Save(ModelProto model, string name)
    {
        var path = Path.Combine(dir, name);
        File.WriteAllBytes(path, model.ToByteArray());
        return path;
    }

    [Theory]
    [InlineData("dqmlnet.exported\u0001\0eights", "x")] // the byte damage a fuzzer found in a model zip
    [InlineData("producer.note", "a\0b")]
    public void Metadata_with_a_NUL_character_is_refused_before_ONNX_Runtime_opens_the_model(string key, string value)
    {
        var model = Export(quantizeWeights: false);
        model.MetadataProps.Add(new StringStringEntryProto { Key = key, Value = value });
        var bytes = model.ToByteArray();
        var fromBytes = Assert.Throws<InvalidDataException>(() => new OnnxClassifier(bytes));
        Assert.Contains("NUL character", fromBytes.Message);
        var path = Save(model, "nul-metadata.onnx");
        var fromFile = Assert.Throws<InvalidDataException>(() => new OnnxClassifier(path));
        Assert.Contains(path, fromFile.Message);
        Assert.Contains($"metadata entry {model.MetadataProps.Count - 1}", fromFile.Message);

        // The same model without the damaged entry opens.
        model.MetadataProps.RemoveAt(model.MetadataProps.Count - 1);
        using var intact = new OnnxClassifier(model.ToByteArray());
        Assert.Equal(10, intact.NumClasses);
    }

    [Fact]
    public void Residual_grid_with_a_non_positive_scale_is_refused()
    {
        manual_seed(3);
        using var wrn = ModelFactory.Create(TestData.Spec(Architecture.WideResNet, TrainingMode.Vanilla));
        var model = OnnxExporter.ToModelProto(wrn, new OnnxExportOptions { QuantizeResiduals = true });
        var scale = model.Graph.Initializer.First(t => t.Name.EndsWith(".residual_scale", StringComparison.Ordinal));
        scale.RawData = ByteString.CopyFrom(BitConverter.GetBytes(0f));
        var path = Save(model, "zero-residual-scale.onnx");
        var ex = Assert.Throws<InvalidDataException>(() => OnnxModelLoader.Load(path));
        Assert.Contains(path, ex.Message);
        Assert.Contains(scale.Name, ex.Message);
    }

    [Fact]
    public void Spec_edited_to_a_larger_model_is_refused_before_the_model_is_built()
    {
        var model = Export(quantizeWeights: true);
        // Within every bound (≈ 180 M weights, 720 MB as float32), but the file holds a 0.8 M-weight SmallCnn.
        var spec = TestData.Spec(Architecture.Vgg, TrainingMode.Vanilla) with { Depth = 19, WidthFactor = 3 };
        spec.Validate();
        SetSpec(model, spec);
        var path = Save(model, "edited.onnx");
        var ex = Assert.Throws<InvalidDataException>(() => OnnxModelLoader.Load(path));
        Assert.Contains(path, ex.Message);
        Assert.Contains(OnnxMetadataKeys.ModelSpec, ex.Message);
        Assert.Contains($"describes a Vgg with {spec.WeightCount():N0} conv/linear weights", ex.Message);
    }

    [Fact]
    public void Spec_beyond_the_bounds_or_unreadable_is_refused_naming_the_field()
    {
        var model = Export(quantizeWeights: true);
        SetSpec(model, TestData.Spec(Architecture.SmallCnn, TrainingMode.Vanilla) with { Height = 4096, Width = 4096 });
        var ex = Assert.Throws<InvalidDataException>(() => OnnxModelLoader.Load(Save(model, "huge.onnx")));
        Assert.Contains("'dqmlnet.model_spec' does not hold a valid ModelSpec", ex.Message);
        Assert.Contains("more than the limit", ex.Message);

        model.MetadataProps.Single(p => p.Key == OnnxMetadataKeys.ModelSpec).Value = "{\"architecture\": 17";
        Assert.Contains("'dqmlnet.model_spec'", Assert.Throws<InvalidDataException>(() => OnnxModelLoader.Load(Save(model, "json.onnx"))).Message);
    }

    [Fact]
    public void Initializer_whose_declared_shape_exceeds_its_data_is_refused()
    {
        var model = Export(quantizeWeights: true);
        var t = model.Graph.Initializer.Single(i => i.Name == "s1.fc1.weight_quantized");
        t.Dims[0] = 1_000_000_000;
        var ex = Assert.Throws<InvalidDataException>(() => OnnxModelLoader.Load(Save(model, "dims.onnx")));
        Assert.Contains("initializer 's1.fc1.weight_quantized' declares shape [1000000000,", ex.Message);
    }

    [Fact]
    public void NaN_and_infinite_weights_are_refused()
    {
        foreach (float bad in new[] { float.NaN, float.PositiveInfinity })
        {
            var model = Export(quantizeWeights: false);
            var t = model.Graph.Initializer.Single(i => i.Name == "s0.conv1.weight");
            var values = MemoryMarshal.Cast<byte, float>(t.RawData.Span).ToArray();
            values[5] = bad;
            t.RawData = ByteString.CopyFrom(MemoryMarshal.AsBytes(values.AsSpan()));
            var ex = Assert.Throws<InvalidDataException>(() => OnnxModelLoader.Load(Save(model, "nan.onnx")));
            Assert.Contains("'s0.conv1.weight' holds", ex.Message);
            Assert.Contains("element 5", ex.Message);
        }
    }

    [Theory]
    [InlineData(0f)]
    [InlineData(-1f)]
    [InlineData(float.NaN)]
    public void Zero_negative_or_non_finite_scales_are_refused(float scale)
    {
        var model = Export(quantizeWeights: true);
        var t = model.Graph.Initializer.First(i => i.Name.EndsWith(".weight_scale", StringComparison.Ordinal));
        var values = MemoryMarshal.Cast<byte, float>(t.RawData.Span).ToArray();
        values[2] = scale;
        t.RawData = ByteString.CopyFrom(MemoryMarshal.AsBytes(values.AsSpan()));
        var ex = Assert.Throws<InvalidDataException>(() => OnnxModelLoader.Load(Save(model, "scale.onnx")));
        Assert.Contains($"'{t.Name}'", ex.Message);
    }

    [Fact]
    public void Scale_count_that_does_not_match_the_channels_is_refused_without_dividing_by_zero()
    {
        var model = Export(quantizeWeights: true);
        var t = model.Graph.Initializer.First(i => i.Name.EndsWith(".weight_scale", StringComparison.Ordinal));
        string layer = t.Name[..^".weight_scale".Length];
        long channels = model.Graph.Initializer.Single(i => i.Name == layer + ".weight_quantized").Dims[0];
        t.Dims.Clear();
        t.Dims.Add(0);
        t.RawData = ByteString.Empty;
        var ex = Assert.Throws<InvalidDataException>(() => OnnxModelLoader.Load(Save(model, "noscale.onnx")));
        Assert.Contains($"'{t.Name}' holds 0 scales but '{layer}.weight_quantized' has {channels} output channels", ex.Message);
    }

    [Fact]
    public void Onnx_file_beyond_the_size_limit_is_refused_from_its_length()
    {
        var path = Save(Export(quantizeWeights: true), "big.onnx");
        ModelFileLimits.MaxModelBytes = 1000;
        var ex = Assert.Throws<InvalidDataException>(() => OnnxModelLoader.Load(path));
        Assert.Contains("more than the limit of 1,000", ex.Message);
        Assert.Contains("DQMLNET_MAX_MODEL_BYTES", ex.Message);
    }

    [Fact]
    public void Zip_entry_beyond_the_size_limit_is_refused_before_it_is_read()
    {
        var path = Path.Combine(dir, "model.zip");
        using (var zip = ZipFile.Open(path, ZipArchiveMode.Create))
        {
            using var s = zip.CreateEntry("TransformerChain/Transform_0/Transform_0/OnnxModel").Open();
            s.Write(new byte[100_000]);
        }
        ModelFileLimits.MaxModelBytes = 10_000;
        var ex = Assert.Throws<InvalidDataException>(() => DqModelFile.Load(new MLContext(1), path, out _));
        Assert.Contains(path, ex.Message);
        Assert.Contains("zip entry 'TransformerChain/Transform_0/Transform_0/OnnxModel' declares 100,000 bytes", ex.Message);
    }

    [Fact]
    public void Not_a_zip_is_a_typed_error()
    {
        var path = Path.Combine(dir, "model.zip");
        File.WriteAllBytes(path, new byte[] { 1, 2, 3 });
        var ex = Assert.Throws<InvalidDataException>(() => DqModelFile.Load(new MLContext(1), path, out _));
        Assert.Contains("not a readable model zip", ex.Message);
    }

    [Theory]
    [InlineData(MlNetOnnxStage.ColumnsKey)]
    [InlineData(MlNetOnnxStage.LabelsKey)]
    public void Missing_stage_metadata_names_the_file_and_the_field(string missing)
    {
        var model = Export(quantizeWeights: true);
        model.MetadataProps.Add(new StringStringEntryProto { Key = MlNetOnnxStage.ColumnsKey, Value = "{\"Features\":\"Features\",\"Score\":\"Score\",\"PredictedLabel\":\"PredictedLabel\"}" });
        model.MetadataProps.Add(new StringStringEntryProto { Key = MlNetOnnxStage.LabelsKey, Value = "{\"ValueType\":\"\",\"Values\":[\"0\",\"1\",\"2\",\"3\",\"4\",\"5\",\"6\",\"7\",\"8\",\"9\"]}" });
        model.MetadataProps.Remove(model.MetadataProps.Single(p => p.Key == missing));
        var schema = new DataViewSchema.Builder().ToSchema();
        var ex = Assert.Throws<InvalidDataException>(() => DqModelFile.Restore(MlNetHost.Of(new MLContext(1)), model, schema, "m.zip"));
        Assert.Contains("'m.zip'", ex.Message);
        Assert.Contains($"'{missing}'", ex.Message);

        // Present but null (JSON "null") is the same typed error, not a NullReferenceException.
        var nulled = Export(quantizeWeights: true);
        nulled.MetadataProps.Add(new StringStringEntryProto { Key = MlNetOnnxStage.ColumnsKey, Value = "null" });
        Assert.Contains(MlNetOnnxStage.ColumnsKey, Assert.Throws<InvalidDataException>(() => DqModelFile.Restore(MlNetHost.Of(new MLContext(1)), nulled, schema, "m.zip")).Message);
    }

    [Fact]
    public void The_untouched_export_still_loads()
    {
        using var rebuilt = OnnxModelLoader.Load(Save(Export(quantizeWeights: true), "ok.onnx"));
        Assert.Equal(TestData.Spec(Architecture.SmallCnn, TrainingMode.Vanilla), rebuilt.Spec);
    }
}
