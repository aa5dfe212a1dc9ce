using static TorchSharp.torch;

namespace DqMlNet.Lipschitz;

/// <summary>
/// The orthogonality penalty and its gradient in closed form, without autograd. For a Gram side S (S = M or Mᵀ,
/// M the weight viewed as c_out × c_in·kh·kw) and E = S Sᵀ − I, ‖E‖²_F has the gradient 4 E S. The regulariser is a
/// handful of matrix products per layer; through autograd each product costs a graph node, a saved tensor and a
/// backward dispatch, which for small layers is most of its cost. Written out, it is two products per layer. The
/// stochastic estimate draws every layer's probes at once.
/// </summary>
internal static class OrthogonalityGradient
{
    /// <summary>
    /// Adds ∂/∂W of <c>scale · Σ ‖G − I‖²_F</c> to each weight's gradient and returns that penalty's value.
    /// With <paramref name="probes"/>, the value and gradient are those of the unbiased Hutchinson estimate
    /// <c>scale · Σ ‖(G − I)Vᵀ‖²_F / p</c> for ±1 probe rows V (see <see cref="AccumulateStochastic"/>).
    /// </summary>
    public static double Accumulate(IReadOnlyList<Tensor> weights, double scale, GramForm form, int? probes,
        Func<int, long, Tensor, Tensor>? drawProbes) =>
        probes is int p ? AccumulateStochastic(weights, scale, form, p, drawProbes!) : AccumulateExact(weights, scale, form);

    private static double AccumulateExact(IReadOnlyList<Tensor> weights, double scale, GramForm form)
    {
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        // One matrix product per Gram and one per gradient, layer by layer. A batched product (bmm) over layers of the
        // same shape gives the same bits and measured no faster (VGG-11×0.25's three 128 × 1152 sides: 2.0 ms either
        // way on a 2-core CPU), and it needs a stacked copy of the weights; one layer at a time needs none.
        var values = new Tensor[weights.Count];
        // 4 is a power of two, so one multiply by 4·scale rounds exactly like a multiply by 4 and then by scale.
        double gradientScale = 4.0 * scale;
        for (int i = 0; i < weights.Count; i++)
        {
            var w = weights[i];
            var (rowGram, _, _) = SideKey(w, form);
            var m = w.flatten(1);
            var side = rowGram ? m : m.t();
            var e = side.mm(side.t());
            e.diagonal().sub_(1);
            values[i] = e.square().sum();
            var gradient = e.mm(side).mul_(gradientScale);
            AddToGrad(w, (rowGram ? gradient : gradient.t()).reshape(w.shape));
        }
        // One read of every layer's value, summed in layer order.
        var perLayer = stack(values).cpu().data<float>().ToArray();
        double total = 0;
        foreach (var value in perLayer) total += value;
        return total * scale;
    }

    /// <summary>
    /// The Hutchinson estimate's value and gradient. All layers' probes come from one draw of p rows of Σ n_l entries,
    /// layer l using its own n_l columns in layer order (so the autograd form, which slices the same draw, sees the same
    /// probes). Per layer, with V (p × n) and S (n × k): U = V(S Sᵀ − I) = (V S) Sᵀ − V, value ‖U‖²/p, gradient
    /// (2/p)(Uᵀ(V S) + Vᵀ(U S)) = (2/p)·[U; V]ᵀ·[V S; U S], added into the weight's gradient by one addmm. The products
    /// are tiny (p rows), so the cost is the number of tensor operations, which this keeps to about ten per layer.
    /// </summary>
    private static double AccumulateStochastic(IReadOnlyList<Tensor> weights, double scale, GramForm form, int probes,
        Func<int, long, Tensor, Tensor> drawProbes)
    {
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        var keys = weights.Select(w => SideKey(w, form)).ToList();
        var v = drawProbes(probes, keys.Sum(k => k.N), weights[0]);
        double alpha = 2.0 * scale / probes;
        var residuals = new Tensor[weights.Count];
        long offset = 0;
        for (int i = 0; i < weights.Count; i++)
        {
            var w = weights[i];
            var (rowGram, n, k) = keys[i];
            var m = w.flatten(1);
            var side = rowGram ? m : m.t();
            var vl = v.narrow(1, offset, n);
            offset += n;
            var vs = vl.mm(side);
            var u = residuals[i] = nn.functional.linear(vs, side).sub_(vl);
            var left = cat(new[] { u, vl }, 0).t();
            var right = cat(new[] { vs, u.mm(side) }, 0);
            var grad = w.grad;
            if (grad is not null && grad.is_contiguous())
            {
                // The gradient's 2-D view (the transposed view for a column Gram) takes the product in place.
                var g2 = grad.view(m.shape[0], m.shape[1]);
                (rowGram ? g2 : g2.t()).addmm_(left, right, beta: 1, alpha: (float)alpha);
            }
            else
            {
                var g = left.mm(right).mul_(alpha);
                AddToGrad(w, (rowGram ? g : g.t()).reshape(w.shape));
            }
        }
        // One reduction over every layer's residual: per-layer sums would cost more operations than arithmetic.
        return cat(residuals, 1).square().sum().item<float>() * scale / probes;
    }

    /// <summary>Whether the Gram is taken over rows, and the n × k shape of its side, for a weight of any shape [c_out, ...].</summary>
    internal static (bool RowGram, long N, long K) SideKey(Tensor weight, GramForm form)
    {
        if (weight.dim() < 2)
            throw new ArgumentException($"A weight to orthogonalise needs at least 2 dimensions (got shape [{string.Join(", ", weight.shape)}]).", nameof(weight));
        long rows = weight.shape[0], cols = weight.numel() / rows;
        bool rowGram = form == GramForm.SmallerSide && rows <= cols;
        return rowGram ? (true, rows, cols) : (false, cols, rows);
    }

    private static void AddToGrad(Tensor weight, Tensor gradient)
    {
        var grad = weight.grad;
        if (grad is null)
        {
            // No loss term reached this weight yet (e.g. the regulariser runs alone): its gradient is this term.
            weight.grad = gradient.detach().clone();
        }
        else
        {
            grad.add_(gradient);
        }
    }
}
