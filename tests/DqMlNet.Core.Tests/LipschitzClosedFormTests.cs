using DqMlNet.Lipschitz;
using DqMlNet.Models;
using static TorchSharp.torch;

namespace DqMlNet.Tests;

/// <summary>The closed-form regulariser gradient training uses agrees with autograd through the penalty.</summary>
public class LipschitzClosedFormTests
{
    private static ModelSpec Vgg() => new()
    {
        // VGG-11 at width 1/8 has several convolutions of one shape, each with its own weight and gradient.
        Architecture = Architecture.Vgg, Depth = 11, WidthFactor = 0.125, Mode = TrainingMode.Defensive, ActivationBits = 4,
        Channels = 3, Height = 32, Width = 32, NumClasses = 10, Mean = new[] { 0.5f, 0.5f, 0.5f }, Std = new[] { 0.25f, 0.25f, 0.25f },
    };

    public static TheoryData<string, int?, GramForm> Cases => new()
    {
        { "SmallCnn", null, GramForm.SmallerSide },
        { "SmallCnn", null, GramForm.Literal },
        { "Vgg", null, GramForm.SmallerSide },
        { "SmallCnn", 4, GramForm.SmallerSide },
        { "Vgg", 3, GramForm.SmallerSide },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void ClosedFormMatchesAutograd(string architecture, int? probes, GramForm form)
    {
        using var scope = NewDisposeScope();
        manual_seed(5);
        var spec = architecture == "Vgg" ? Vgg() : TestData.SmallCnn(TrainingMode.Defensive);
        var model = ModelFactory.Create(spec);
        var reg = new LipschitzRegularizer(2e-3, new LipschitzOptions { Probes = probes, Form = form });
        var layers = reg.SelectLayers(model);
        if (architecture == "Vgg")
            Assert.True(layers.GroupBy(l => string.Join("x", l.Weight.shape)).Any(g => g.Count() > 1), "the VGG case must have same-shaped layers");

        // Autograd reference. The stochastic estimate draws all layers' probes at once from the global generator, and both
        // paths slice that draw in layer order: reseed before each path and they use the same probes.
        manual_seed(17);
        var value = reg.Compute(model);
        value.backward();
        var expected = layers.Select(l => l.Weight.grad!.clone()).ToList();
        foreach (var l in layers) l.Weight.grad!.zero_();

        manual_seed(17);
        double closed = reg.AccumulateGradients(model);
        Assert.Equal(value.item<float>(), closed, value.item<float>() * 1e-4);
        for (int i = 0; i < layers.Count; i++)
        {
            var got = layers[i].Weight.grad!;
            double scale = expected[i].abs().max().item<float>();
            double diff = got.sub(expected[i]).abs().max().item<float>();
            Assert.True(diff <= 1e-4 * scale + 1e-9, $"{layers[i].Name}: max |Δ| {diff} (gradient scale {scale})");
        }
    }

    [Fact]
    public void AddsToAnExistingGradientAndFillsAMissingOne()
    {
        using var scope = NewDisposeScope();
        manual_seed(2);
        var model = ModelFactory.Create(TestData.SmallCnn(TrainingMode.Defensive));
        var reg = new LipschitzRegularizer(1e-2);
        var layers = reg.SelectLayers(model);
        Assert.All(layers, l => Assert.Null(l.Weight.grad));
        reg.AccumulateGradients(model);
        var once = layers.Select(l => l.Weight.grad!.clone()).ToList();
        reg.AccumulateGradients(model);
        for (int i = 0; i < layers.Count; i++)
            Assert.True(layers[i].Weight.grad!.allclose(once[i].mul(2), rtol: 1e-6, atol: 1e-12), layers[i].Name);
    }

    [Fact]
    public void TrainingStepLowersThePenaltyLikeBefore()
    {
        // A step of the penalty alone through the optimizer: the closed form and autograd reach the same weights.
        using var scope = NewDisposeScope();
        var results = new List<float[]>();
        foreach (bool closedForm in new[] { false, true })
        {
            manual_seed(8);
            var model = ModelFactory.Create(TestData.SmallCnn(TrainingMode.Defensive));
            var reg = new LipschitzRegularizer(0.05);
            var optimizer = optim.SGD(model.parameters(), 0.1);
            for (int i = 0; i < 5; i++)
            {
                optimizer.zero_grad();
                if (closedForm) reg.AccumulateGradients(model);
                else reg.Compute(model).backward();
                optimizer.step();
            }
            results.Add(reg.SelectLayers(model)[2].Weight.detach().flatten().data<float>().ToArray());
        }
        double maxDiff = results[0].Zip(results[1], (a, b) => Math.Abs(a - b)).Max();
        Assert.True(maxDiff < 1e-5, $"weights after 5 steps differ by {maxDiff}");
    }
}
