using DqMlNet.Quantization;
using static TorchSharp.torch;

namespace DqMlNet.Tests;

public class QuantizerTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    public void ActivationQuantizerHasExactly2PowKLevelsMatchingTheFormula(int bits)
    {
        using var scope = NewDisposeScope();
        var x = linspace(-1, 7, 80_001, dtype: ScalarType.Float32);
        var y = ActivationQuantizer.QuantizeSte(x, bits).data<float>().ToArray();
        var xs = x.data<float>().ToArray();

        Assert.Equal(1 << bits, y.Distinct().Count());
        double levels = (1 << bits) - 1;
        for (int i = 0; i < xs.Length; i++)
        {
            double a = Math.Clamp((double)xs[i], 0, 6);
            double scaled = a / 6 * levels;
            double expected = 6 * Math.Round(scaled, MidpointRounding.ToEven) / levels;
            // At an exact rounding tie (a = (r + ½)·Δ) float32 and real arithmetic may round to either neighbour.
            bool tie = Math.Abs(scaled - Math.Floor(scaled) - 0.5) < 1e-4;
            double tolerance = tie ? 6 / levels + 1e-5 : 1e-5;
            Assert.True(Math.Abs(y[i] - expected) < tolerance, $"k={bits}: q({xs[i]}) = {y[i]}, formula gives {expected}");
        }
        Assert.Equal(0f, y.Min());
        Assert.Equal(6f, y.Max(), 5);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(4)]
    [InlineData(8)]
    public void StraightThroughGradientIsOneInsideZeroToSixAndZeroOutside(int bits)
    {
        using var scope = NewDisposeScope();
        // −1 + i/1000 in double, so 0 and 6 are hit exactly.
        var x = tensor(Enumerable.Range(0, 8_001).Select(i => (float)(-1 + i / 1000.0)).ToArray()).requires_grad_();
        ActivationQuantizer.QuantizeSte(x, bits).sum().backward();
        var grad = x.grad!.data<float>().ToArray();
        var xs = x.detach().data<float>().ToArray();
        Assert.Contains(0f, xs);
        Assert.Contains(6f, xs);
        for (int i = 0; i < xs.Length; i++)
            Assert.Equal(xs[i] > 0 && xs[i] < 6 ? 1f : 0f, grad[i]);
    }

    [Fact]
    public void QuantizedValuesAreTheOnnxGrid()
    {
        using var scope = NewDisposeScope();
        // ONNX QuantizeLinear/DequantizeLinear (uint8, zero point 0): q = round_half_even(x / s) · s in float32.
        var x = rand(10_000, generator: new Generator(7)).mul(8).sub(1);
        float s = ActivationQuantizer.Scale(3);
        var y = ActivationQuantizer.Quantize(x, 3).data<float>().ToArray();
        var xs = x.data<float>().ToArray();
        for (int i = 0; i < xs.Length; i++)
        {
            float level = MathF.Round(Math.Clamp(xs[i] / s, 0f, 7f), MidpointRounding.ToEven);
            Assert.Equal(level * s, y[i]);
        }
    }

    [Theory]
    [InlineData(0)]
    [InlineData(9)]
    [InlineData(-3)]
    public void InvalidActivationBitsAreRejectedWithTheRange(int bits)
    {
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => new QuantizedReLU6(bits));
        Assert.Contains("between 1 and 8", ex.Message);
        Assert.Equal("bits", ex.ParamName);
    }

    [Theory]
    [InlineData(2)]
    [InlineData(4)]
    [InlineData(8)]
    public void WeightQuantizerIsSymmetricPerChannelWithIdentityGradient(int bits)
    {
        using var scope = NewDisposeScope();
        var w = randn(new long[] { 6, 3, 3, 3 }, generator: new Generator(3)).mul(tensor(new float[] { 0.01f, 0.1f, 1, 2, 5, 0 }).reshape(6, 1, 1, 1));
        w.requires_grad_();
        var q = WeightQuantizer.QuantizeSte(w, bits);
        int maxLevel = (1 << (bits - 1)) - 1;
        for (int c = 0; c < 6; c++)
        {
            var channel = q[c].detach().flatten().data<float>().ToArray();
            var original = w[c].detach().flatten().data<float>().ToArray();
            Assert.True(channel.Distinct().Count() <= 2 * maxLevel + 1);
            float maxAbs = original.Max(MathF.Abs);
            Assert.Equal(maxAbs, channel.Max(MathF.Abs), 5); // the channel's extreme weight is exactly representable
            float scale = maxAbs / maxLevel;
            for (int i = 0; i < channel.Length; i++)
                Assert.True(Math.Abs(channel[i] - original[i]) <= scale / 2 + 1e-6, "rounding error above half a step");
        }
        q.sum().backward();
        Assert.True(w.grad!.eq(1).all().item<bool>());
        Assert.Throws<ArgumentOutOfRangeException>(() => new QuantConv2d(1, 1, 3, weightBits: 1));
    }
}
