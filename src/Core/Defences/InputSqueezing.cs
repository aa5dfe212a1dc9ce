using DqMlNet.Attacks;
using TorchSharp;
using static TorchSharp.torch;

namespace DqMlNet.Defences;

/// <summary>
/// Feature squeezing (Xu et al.) as a classifier wrapper: bit-depth reduction and/or a median filter applied to the
/// input before the model. The squeeze is not differentiable, so attacks get the BPDA gradient: the squeeze is treated
/// as the identity in the backward pass. Robustness therefore comes from the model, never "for free" from a
/// gradient-blocking step.
/// </summary>
public sealed class InputSqueezing : IClassifier
{
    /// <summary>Wraps <paramref name="inner"/>; <paramref name="bitDepth"/> in 1..8 (null: off); <paramref name="medianSize"/> odd (null: off).</summary>
    public InputSqueezing(IClassifier inner, int? bitDepth = null, int? medianSize = null)
    {
        Inner = inner ?? throw new ArgumentNullException(nameof(inner));
        if (bitDepth is < 1 or > 8) throw new ArgumentOutOfRangeException(nameof(bitDepth), bitDepth, "Bit depth must be between 1 and 8.");
        if (medianSize is int k && (k < 1 || k % 2 == 0))
            throw new ArgumentOutOfRangeException(nameof(medianSize), medianSize, "The median filter size must be a positive odd number (e.g. 2 → use 3).");
        if (bitDepth is null && medianSize is null) throw new ArgumentException("Choose a bit depth, a median filter size, or both.");
        BitDepth = bitDepth;
        MedianSize = medianSize;
    }

    /// <summary>The defended classifier.</summary>
    public IClassifier Inner { get; }

    /// <summary>Bits per pixel after squeezing, or null.</summary>
    public int? BitDepth { get; }

    /// <summary>Median filter window, or null.</summary>
    public int? MedianSize { get; }

    /// <inheritdoc />
    public long[] InputShape => Inner.InputShape;

    /// <inheritdoc />
    public int NumClasses => Inner.NumClasses;

    /// <inheritdoc />
    public Device Device => Inner.Device;

    /// <inheritdoc />
    public bool HasGradients => Inner.HasGradients;

    /// <inheritdoc />
    public bool SurrogateIsExact => Inner.SurrogateIsExact;

    /// <summary>The squeezed images (no gradient).</summary>
    public Tensor Squeeze(Tensor input)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var x = input.detach();
        if (BitDepth is int bits)
        {
            float levels = (1 << bits) - 1;
            x = x.mul(levels).round().div(levels);
        }
        if (MedianSize is int k && k > 1)
        {
            int pad = k / 2;
            long n = x.shape[0], c = x.shape[1], h = x.shape[2], w = x.shape[3];
            var padded = nn.functional.pad(x, new long[] { pad, pad, pad, pad }, PaddingModes.Reflect);
            var patches = padded.unfold(2, k, 1).unfold(3, k, 1).reshape(n, c, h, w, k * k);
            x = patches.sort(4).Values.select(4, k * k / 2); // the middle of an odd count: the median
        }
        return x.MoveToOuterDisposeScope();
    }

    /// <inheritdoc />
    public Tensor Logits(Tensor input) => Inner.Logits(Squeeze(input));

    /// <inheritdoc />
    public Tensor SurrogateLogits(Tensor input)
    {
        // BPDA: forward the squeezed value, backward as identity.
        var squeezed = Squeeze(input);
        return Inner.SurrogateLogits(input.add(squeezed.sub(input).detach()));
    }

    /// <inheritdoc />
    public IDisposable BeginAttack() => Inner.BeginAttack();
}
