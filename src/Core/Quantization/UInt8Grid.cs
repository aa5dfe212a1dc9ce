using TorchSharp;
using static TorchSharp.torch;

namespace DqMlNet.Quantization;

/// <summary>
/// An affine uint8 grid: level q stands for <c>(q − ZeroPoint) · Scale</c>, q in 0 … 255. Rounding a value onto it is
/// what ONNX <c>QuantizeLinear</c> → <c>DequantizeLinear</c> (uint8, per tensor) computes: <c>x / Scale</c> rounded half
/// to even, plus the zero point, saturated to [0, 255].
/// </summary>
/// <param name="Scale">Step between two levels (positive, finite float32).</param>
/// <param name="ZeroPoint">The level that stands for 0.</param>
public readonly record struct UInt8Grid(float Scale, byte ZeroPoint)
{
    /// <summary>Smallest value on the grid, <c>−ZeroPoint · Scale</c>.</summary>
    public float Min => -ZeroPoint * Scale;

    /// <summary>Largest value on the grid, <c>(255 − ZeroPoint) · Scale</c>.</summary>
    public float Max => (byte.MaxValue - ZeroPoint) * Scale;

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> unless the scale is finite and positive.</summary>
    public void Validate()
    {
        if (!(Scale > 0) || !float.IsFinite(Scale))
            throw new ArgumentOutOfRangeException(nameof(Scale), Scale, "A uint8 grid needs a finite, positive scale.");
    }

    /// <summary>
    /// <paramref name="x"/> rounded onto the grid. The gradient passes straight through inside [<see cref="Min"/>,
    /// <see cref="Max"/>] and is zero outside (the derivative of the saturation), so attacks see no masked gradient.
    /// </summary>
    public Tensor FakeQuantize(Tensor x)
    {
        Validate();
        float zero = ZeroPoint;
        if (!x.requires_grad || !is_grad_enabled())
            return x.div(Scale).round_().add_(zero).clamp_(0f, byte.MaxValue).sub_(zero).mul_(Scale);
        // The clamp carries the straight-through gradient; the rounding is applied to its output outside autograd.
        var y = x.clamp(Min, Max);
        using (no_grad()) y.div_(Scale).round_().add_(zero).clamp_(0f, byte.MaxValue).sub_(zero).mul_(Scale);
        return y;
    }
}
