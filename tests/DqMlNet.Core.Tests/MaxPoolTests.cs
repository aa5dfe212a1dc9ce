using DqMlNet.Models;
using static TorchSharp.torch;

namespace DqMlNet.Tests;

public class MaxPoolTests
{
    [Theory]
    [InlineData(28, 28)]
    [InlineData(7, 9)] // odd sizes: floor mode drops the last row/column
    public void Fast_path_gives_max_pool2d_values_bit_for_bit(int h, int w)
    {
        using var scope = NewDisposeScope();
        // Quantized-like values (many ties, zeros), a negative block and a NaN.
        var x = randn(new long[] { 3, 5, h, w }, generator: new Generator(7)).mul(3).clamp(-1, 6).div(0.4).round().mul(0.4);
        x[0, 0, 0, 0] = tensor(float.NaN);
        using var pool = new MaxPool2x2();
        Tensor fast;
        using (no_grad()) fast = pool.call(x);
        var expected = nn.functional.max_pool2d(x, 2);
        Assert.Equal(expected.shape, fast.shape);
        Assert.True(fast.isnan().eq(expected.isnan()).all().item<bool>());
        Assert.True(fast.nan_to_num(0).eq(expected.nan_to_num(0)).all().item<bool>());
        Assert.True(float.IsNaN(fast[0, 0, 0, 0].item<float>()));
    }

    [Fact]
    public void With_gradients_it_is_max_pool2d()
    {
        using var scope = NewDisposeScope();
        var x = randn(new long[] { 2, 4, 8, 8 }, generator: new Generator(8)).clamp_min(0).requires_grad_();
        var y = x.detach().clone().requires_grad_();
        using var pool = new MaxPool2x2();
        var g = randn(new long[] { 2, 4, 4, 4 }, generator: new Generator(9));
        pool.call(x).mul(g).sum().backward();
        nn.functional.max_pool2d(y, 2).mul(g).sum().backward();
        Assert.True(x.grad!.eq(y.grad!).all().item<bool>()); // ties (zeros) routed to the same element
        Assert.Throws<ArgumentException>(() => pool.call(ones(4, 4)));
    }
}
