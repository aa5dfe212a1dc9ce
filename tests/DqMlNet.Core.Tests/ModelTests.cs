using DqMlNet.Models;
using DqMlNet.Quantization;
using static TorchSharp.torch;

namespace DqMlNet.Tests;

public class ModelTests
{
    public static TheoryData<Architecture, int, int, double, int, int, int> Shapes => new()
    {
        // architecture, channels, size, width, depth, weight layers, activations
        { Architecture.SmallCnn, 1, 28, 1, 0, 4, 3 },
        { Architecture.SmallCnn, 3, 32, 1, 0, 4, 3 },
        { Architecture.Vgg, 3, 32, 0.125, 11, 9, 8 },
        { Architecture.Vgg, 1, 28, 0.125, 16, 14, 13 },
        { Architecture.WideResNet, 3, 32, 1, 10, 1 + 3 * 2 + 2 + 1, 3 * 2 + 1 },
    };

    [Theory]
    [MemberData(nameof(Shapes))]
    public void ForwardGivesLogitsAndRecordsEveryActivation(Architecture arch, int channels, int size, double width, int depth, int weightLayers, int activations)
    {
        using var scope = NewDisposeScope();
        manual_seed(0);
        var spec = new ModelSpec
        {
            Architecture = arch, Mode = TrainingMode.Defensive, ActivationBits = 2, Channels = channels, Height = size, Width = size,
            NumClasses = 10, Mean = Enumerable.Repeat(0.5f, channels).ToArray(), Std = Enumerable.Repeat(0.25f, channels).ToArray(),
            WidthFactor = width, Depth = depth == 0 ? 16 : depth,
        };
        var model = ModelFactory.Create(spec);
        model.eval();
        Assert.Equal(weightLayers, model.WeightLayers.Count);
        Assert.Equal(activations, model.Activations.Count);
        Assert.All(model.Activations, a => Assert.Equal(2, Assert.IsType<QuantizedReLU6>(a).Bits));

        var x = rand(3, channels, size, size, generator: new Generator(1));
        var (logits, recorded) = model.ForwardWithActivations(x);
        Assert.Equal(new long[] { 3, 10 }, logits.shape);
        Assert.Equal(activations, recorded.Count);
        foreach (var a in recorded)
        {
            var values = a.flatten().unique().Item1.data<float>().ToArray();
            Assert.True(values.Length <= 4, "a 2-bit activation takes at most 4 values");
            Assert.All(values, v => Assert.Contains(v, new[] { 0f, 2f, 4f, 6f }));
        }
        Assert.Equal(logits.data<float>().ToArray(), model.call(x).data<float>().ToArray());
        // Recording is switched off after the call.
        var again = model.ForwardWithActivations(x).Activations;
        Assert.Equal(activations, again.Count);
    }

    [Fact]
    public void FullPrecisionUsesReluAndSpecRoundTripsThroughJson()
    {
        var spec = TestData.SmallCnn(TrainingMode.FullPrecision) with { WeightBits = 8 };
        manual_seed(0);
        var model = ModelFactory.Create(spec);
        Assert.All(model.Activations, a => Assert.IsType<ReLUActivation>(a));
        var back = ModelSpec.FromJson(spec.ToJson());
        Assert.Equal(spec, back);
        Assert.Contains("\"mode\":\"FullPrecision\"", spec.ToJson());
        Assert.DoesNotContain('\n', spec.ToJson()); // compact, as documented: stored in metadata and compared as text
        Assert.Equal(8, Assert.IsType<QuantConv2d>(model.modules().OfType<QuantConv2d>().First()).WeightBits);
    }
}
