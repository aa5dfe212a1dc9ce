using DqMlNet.Models;
using DqMlNet.Transforms.Onnx;
using Onnx;
using DataType = Onnx.TensorProto.Types.DataType;

namespace DqMlNet.Transforms.Tests;

/// <summary>(a) Structural validation of the produced ModelProto.</summary>
public sealed class ExportStructureTests
{
    private static DqModel Untrained(ModelSpec spec)
    {
        TorchSharp.torch.manual_seed(1);
        var model = ModelFactory.Create(spec);
        model.eval();
        return model;
    }

    public static TheoryData<string, Architecture, TrainingMode, bool> Specs => new()
    {
        { "smallcnn-fp", Architecture.SmallCnn, TrainingMode.FullPrecision, false },
        { "smallcnn-vq", Architecture.SmallCnn, TrainingMode.Vanilla, false },
        { "smallcnn-bn-dq", Architecture.SmallCnn, TrainingMode.Defensive, true },
        { "vgg-fp", Architecture.Vgg, TrainingMode.FullPrecision, true },
        { "vgg-dq", Architecture.Vgg, TrainingMode.Defensive, true },
        { "wrn-fp", Architecture.WideResNet, TrainingMode.FullPrecision, true },
        { "wrn-vq", Architecture.WideResNet, TrainingMode.Vanilla, true },
    };

    [Theory]
    [MemberData(nameof(Specs))]
    public void Graph_is_well_formed(string name, Architecture architecture, TrainingMode mode, bool batchNorm)
    {
        var spec = TestData.Spec(architecture, mode) with { BatchNorm = batchNorm };
        using var model = Untrained(spec);
        var proto = OnnxExporter.ToModelProto(model);

        // Optional: dump the files for an external onnx.checker run (see docs/onnx.md); never needed by the suite.
        if (Environment.GetEnvironmentVariable("DQMLNET_ONNX_DUMP_DIR") is { Length: > 0 } dump)
            OnnxExporter.Export(model, Path.Combine(dump, name + ".onnx"));
        var problems = OnnxGraphValidator.Validate(proto);
        Assert.True(problems.Count == 0, name + ": " + string.Join("; ", problems));
        Assert.Equal(OnnxExporter.IrVersion, proto.IrVersion);
        Assert.Equal(13, proto.OpsetImport.Single(o => o.Domain == "").Version);
        var input = Assert.Single(proto.Graph.Input);
        Assert.Equal("input", input.Name);
        Assert.Equal(new long[] { 0, 1, 28, 28 }, input.Type.TensorType.Shape.Dim.Select(d => d.DimValue));
        Assert.Equal("N", input.Type.TensorType.Shape.Dim[0].DimParam);
        Assert.Equal(new[] { "probabilities", "logits" }, proto.Graph.Output.Select(o => o.Name));
        Assert.Equal("Softmax", proto.Graph.Node.Single(n => n.Output.Contains("probabilities")).OpType);
        Assert.Equal(new[] { "Sub", "Div" }, proto.Graph.Node.Take(2).Select(n => n.OpType));

        var ops = proto.Graph.Node.Select(n => n.OpType).ToHashSet();
        Assert.DoesNotContain("BatchNormalization", architecture == Architecture.WideResNet ? Array.Empty<string>() : ops.ToArray()); // folded
        var init = proto.Graph.Initializer.ToDictionary(t => t.Name);
        if (mode == TrainingMode.FullPrecision)
        {
            Assert.DoesNotContain("QuantizeLinear", ops);
            Assert.DoesNotContain("DequantizeLinear", ops);
            Assert.All(init.Values, t => Assert.Equal((int)DataType.Float, t.DataType));
            return;
        }

        // Activations: uint8, scale 6/15, zero point 0.
        var q = proto.Graph.Node.Where(n => n.OpType == "QuantizeLinear").ToList();
        Assert.NotEmpty(q);
        foreach (var node in q)
        {
            Assert.Equal((int)DataType.Uint8, init[node.Input[2]].DataType);
            Assert.Equal(0, init[node.Input[2]].RawData[0]);
            Assert.Equal(6f / 15f, BitConverter.ToSingle(init[node.Input[1]].RawData.Span));
        }
        // The k-bit top level: Clip(0, 15) on the uint8 levels, straight behind a QuantizeLinear.
        var clips = proto.Graph.Node.Where(n => n.OpType == "Clip").ToList();
        Assert.NotEmpty(clips);
        foreach (var clip in clips)
        {
            Assert.Equal("QuantizeLinear", Producer(proto, clip.Input[0])?.OpType);
            Assert.Equal((int)DataType.Uint8, init[clip.Input[1]].DataType);
            Assert.Equal(new byte[] { 0 }, init[clip.Input[1]].RawData.ToByteArray());
            Assert.Equal(new byte[] { 15 }, init[clip.Input[2]].RawData.ToByteArray());
        }

        // Weights: int8 per output channel through DequantizeLinear(axis 0) where ONNX Runtime runs the layer as an integer
        // kernel (quantized input, and for a Conv a QuantizeLinear behind it); float elsewhere.
        int integerLayers = 0;
        foreach (var layer in proto.Graph.Node.Where(n => n.OpType is "Conv" or "Gemm"))
        {
            bool quantizedInput = Producer(proto, layer.Input[0])?.OpType == "DequantizeLinear";
            var consumers = proto.Graph.Node.Where(n => n.Input.Contains(layer.Output[0])).ToList();
            bool integer = quantizedInput && (layer.OpType == "Gemm" || consumers is [{ OpType: "QuantizeLinear" }]);
            var dq = Producer(proto, layer.Input[1]);
            if (!integer)
            {
                Assert.Null(dq);
                Assert.Equal((int)DataType.Float, init[layer.Input[1]].DataType);
                continue;
            }
            integerLayers++;
            Assert.Equal("DequantizeLinear", dq!.OpType);
            Assert.Equal(0, dq.Attribute.Single(a => a.Name == "axis").I);
            var w = init[dq.Input[0]];
            Assert.Equal((int)DataType.Int8, w.DataType);
            Assert.Equal(w.Dims[0], init[dq.Input[1]].Dims.Single());
            Assert.All(w.RawData.ToByteArray(), b => Assert.True((sbyte)b is >= -127 and <= 127));
        }
        Assert.True(integerLayers >= 2, $"{name}: only {integerLayers} integer layers");
    }

    private static NodeProto? Producer(ModelProto proto, string value) => proto.Graph.Node.SingleOrDefault(n => n.Output.Contains(value));

    [Fact]
    public void Integer_weights_only_stores_every_weight_as_int8_with_the_same_values()
    {
        using var model = Untrained(TestData.Spec(Architecture.WideResNet, TrainingMode.Vanilla) with { BatchNorm = true });
        var fast = OnnxExporter.ToModelProto(model);
        var small = OnnxExporter.ToModelProto(model, new OnnxExportOptions { IntegerWeightsOnly = true });
        Assert.Empty(OnnxGraphValidator.Validate(small));
        var fastInit = fast.Graph.Initializer.ToDictionary(t => t.Name);
        var smallInit = small.Graph.Initializer.ToDictionary(t => t.Name);
        var floatWeights = fastInit.Keys.Where(k => k.EndsWith(".weight", StringComparison.Ordinal)).ToList();
        Assert.NotEmpty(floatWeights); // the stem and the residual convolutions
        Assert.DoesNotContain(smallInit.Keys, k => k.EndsWith(".weight", StringComparison.Ordinal));
        Assert.True(small.CalculateSize() < fast.CalculateSize() * 0.6, $"{small.CalculateSize()} vs {fast.CalculateSize()} bytes");
        foreach (var name in floatWeights)
        {
            var f = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(fastInit[name].RawData.Span).ToArray();
            var q = smallInit[name + "_quantized"].RawData.ToByteArray();
            var s = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(smallInit[name + "_scale"].RawData.Span).ToArray();
            int per = f.Length / s.Length;
            for (int i = 0; i < f.Length; i++) Assert.Equal((sbyte)q[i] * s[i / per], f[i]); // bit-identical to DequantizeLinear
        }
    }

    [Fact]
    public void Float_weight_option_and_metadata()
    {
        var spec = TestData.Spec(Architecture.SmallCnn, TrainingMode.Defensive, bits: 3, weightBits: 5);
        using var model = Untrained(spec);
        var options = new OnnxExportOptions { QuantizeWeights = false, IncludeLogits = false, Beta = 2e-3, ClassNames = DqMlNet.Data.FashionMnist.ClassNames };
        var proto = OnnxExporter.ToModelProto(model, options);
        Assert.Empty(OnnxGraphValidator.Validate(proto));
        Assert.Equal(new[] { "probabilities" }, proto.Graph.Output.Select(o => o.Name));
        Assert.All(proto.Graph.Initializer, t => Assert.NotEqual((int)DataType.Int8, t.DataType));

        var meta = OnnxModelLoader.Metadata(proto);
        Assert.Equal("SmallCnn", meta[OnnxMetadataKeys.Architecture]);
        Assert.Equal("Defensive", meta[OnnxMetadataKeys.Mode]);
        Assert.Equal("3", meta[OnnxMetadataKeys.ActivationBits]);
        Assert.Equal("5", meta[OnnxMetadataKeys.WeightBits]);
        Assert.Equal("0.002", meta[OnnxMetadataKeys.Beta]);
        Assert.Equal("N,1,28,28", meta[OnnxMetadataKeys.InputShape]);
        Assert.Contains("T-shirt", meta[OnnxMetadataKeys.ClassNames], StringComparison.OrdinalIgnoreCase);
        Assert.False(string.IsNullOrEmpty(meta[OnnxMetadataKeys.LibraryVersion]));
        Assert.Equal(spec, ModelSpec.FromJson(meta[OnnxMetadataKeys.ModelSpec]));
    }

    [Fact]
    public void Bytes_parse_back_and_8_bit_activations_need_no_clip()
    {
        using var model = Untrained(TestData.Spec(Architecture.SmallCnn, TrainingMode.Vanilla, bits: 8));
        var bytes = OnnxExporter.ToBytes(model);
        var proto = ModelProto.Parser.ParseFrom(bytes);
        Assert.Empty(OnnxGraphValidator.Validate(proto));
        Assert.DoesNotContain(proto.Graph.Node, n => n.OpType == "Clip");
    }
}
