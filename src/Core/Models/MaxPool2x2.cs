using static TorchSharp.torch;

namespace DqMlNet.Models;

/// <summary>
/// 2×2 max pooling with stride 2 (<c>nn.MaxPool2d(2)</c>: floor mode, no padding) as used by SmallCnn and VGG.
/// </summary>
/// <remarks>
/// Without gradients (evaluation, gradient-free attacks such as Square, scoring) it takes the elementwise maximum of the
/// four stride-2 views of each 2×2 window: the same values bit for bit (the max of the same four numbers, NaN
/// propagating as in max_pool2d), about 4× faster than LibTorch's NCHW max_pool2d kernel on CPU, which was the
/// largest item of SmallCnn's forward pass. With gradients it is max_pool2d itself, whose backward routes each
/// window's gradient to its first maximum.
/// </remarks>
public sealed class MaxPool2x2 : nn.Module<Tensor, Tensor>
{
    /// <summary>Creates the layer.</summary>
    public MaxPool2x2() : base(nameof(MaxPool2x2)) { }

    /// <inheritdoc />
    public override Tensor forward(Tensor input)
    {
        if (input.dim() != 4)
            throw new ArgumentException($"MaxPool2x2 expects [N, C, H, W] input; got shape [{string.Join(", ", input.shape)}].", nameof(input));
        if ((input.requires_grad && is_grad_enabled()) || input.shape[2] < 2 || input.shape[3] < 2)
            return nn.functional.max_pool2d(input, 2);
        using var scope = NewDisposeScope();
        var even = TensorIndex.Slice(0, input.shape[2] / 2 * 2, 2);
        var odd = TensorIndex.Slice(1, input.shape[2] / 2 * 2, 2);
        var evenW = TensorIndex.Slice(0, input.shape[3] / 2 * 2, 2);
        var oddW = TensorIndex.Slice(1, input.shape[3] / 2 * 2, 2);
        var top = maximum(input[.., .., even, evenW], input[.., .., even, oddW]);
        var bottom = maximum(input[.., .., odd, evenW], input[.., .., odd, oddW]);
        return maximum(top, bottom).MoveToOuterDisposeScope();
    }
}
