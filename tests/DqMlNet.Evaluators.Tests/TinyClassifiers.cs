using DqMlNet.Attacks;
using static TorchSharp.torch;

namespace DqMlNet.Tests;

/// <summary>A fixed-weight two-layer perceptron on 1×4×4 images (weights from a seeded generator), for golden values.</summary>
internal sealed class TinyMlp : IClassifier
{
    /// <param name="hidden">A hidden layer of 8 ReLU units (else linear).</param>
    /// <param name="seed">Seed of the weights.</param>
    /// <param name="rowwise">
    /// Compute each row's logits by elementwise products and sums instead of matrix products. LibTorch's CPU matrix
    /// product may pick another kernel for another number of rows (MKL's AVX-512 path rounds an odd batch's rows
    /// differently in the last bit), so a test of batch-independence itself needs a model whose rows do not depend on
    /// the batch size.
    /// </param>
    public TinyMlp(bool hidden = true, long seed = 1234, bool rowwise = false)
    {
        Rowwise = rowwise;
        var g = new Generator((ulong)seed);
        W1 = randn(new long[] { 8, 16 }, generator: g).mul(0.8f);
        B1 = randn(new long[] { 8 }, generator: g).mul(0.1f);
        W2 = randn(new long[] { 3, hidden ? 8 : 16 }, generator: g);
        B2 = randn(new long[] { 3 }, generator: g).mul(0.1f);
        Hidden = hidden;
    }

    public Tensor W1 { get; }
    public Tensor B1 { get; }
    public Tensor W2 { get; }
    public Tensor B2 { get; }
    public bool Hidden { get; }
    public bool Rowwise { get; }
    public long[] InputShape => new long[] { 1, 4, 4 };
    public int NumClasses => 3;
    public Device Device => CPU;
    public bool HasGradients => true;
    public bool SurrogateIsExact => true;

    public Tensor Logits(Tensor input)
    {
        var x = input.flatten(1);
        if (Hidden) x = nn.functional.relu(Product(x, W1).add(B1));
        return Product(x, W2).add(B2);
    }

    /// <summary>x·Wᵀ, by a matrix product or (rowwise) by broadcast products summed over the inputs.</summary>
    private Tensor Product(Tensor x, Tensor w) => Rowwise ? x.unsqueeze(1).mul(w).sum(2) : x.matmul(w.t());

    public Tensor SurrogateLogits(Tensor input) => Logits(input);

    public IDisposable BeginAttack() => new Nothing();

    private sealed class Nothing : IDisposable
    {
        public void Dispose() { }
    }
}

/// <summary>Hides a classifier's gradients: only scores are visible, as with an ONNX session.</summary>
internal sealed class ScoresOnly(IClassifier inner) : IClassifier
{
    public long[] InputShape => inner.InputShape;
    public int NumClasses => inner.NumClasses;
    public Device Device => inner.Device;
    public bool HasGradients => false;
    public bool SurrogateIsExact => false;

    public Tensor Logits(Tensor input)
    {
        using var noGrad = no_grad();
        return inner.Logits(input.detach());
    }

    public Tensor SurrogateLogits(Tensor input) => throw new InvalidOperationException("scores only");

    public IDisposable BeginAttack() => inner.BeginAttack();
}
