using static TorchSharp.torch;

namespace DqMlNet.Lipschitz;

/// <summary>
/// The orthogonality penalty and its gradient in closed form, without autograd. For a Gram side S (S = M or Mᵀ,
/// M the weight viewed as c_out × c_in·kh·kw) and E = S Sᵀ − I, ‖E‖²_F has the gradient 4 E S. The regulariser is a
/// handful of matrix products per layer; through autograd each product costs a graph node, a saved tensor and a
/// backward dispatch, which for small layers is most of its cost. Written out, it is two products per layer, and
/// layers of the same shape share one batched product.
/// </summary>
internal static class OrthogonalityGradient
{
    /// <summary>
    /// Adds ∂/∂W of <c>scale · Σ ‖G − I‖²_F</c> to each weight's gradient and returns that penalty's value.
    /// With <paramref name="probes"/>, the value and gradient are those of the unbiased Hutchinson estimate
    /// <c>scale · Σ ‖(G − I)Vᵀ‖²_F / p</c> for ±1 probe rows V drawn by <paramref name="drawProbes"/>(p, n, like),
    /// one draw per layer in layer order within each shape group.
    /// </summary>
    public static double Accumulate(IReadOnlyList<Tensor> weights, double scale, GramForm form, int? probes,
        Func<int, long, Tensor, Tensor>? drawProbes)
    {
        double total = 0;
        using var noGrad = no_grad();
        // Layers whose Gram side has the same shape are computed as one batch (bmm), in their original order.
        var groups = weights.Select((w, i) => (Weight: w, Index: i, Key: SideKey(w, form)))
            .GroupBy(t => t.Key).OrderBy(g => g.Min(t => t.Index));
        foreach (var group in groups)
        {
            using var scope = NewDisposeScope();
            var members = group.OrderBy(t => t.Index).ToList();
            bool rowGram = group.Key.RowGram;
            // S as [L, n, k]: the Gram side of every member (n × n Gram), stacked.
            var sides = members.Select(t => rowGram ? t.Weight.flatten(1) : t.Weight.flatten(1).t()).ToList();
            var s = sides.Count == 1 ? sides[0].unsqueeze(0) : stack(sides);
            long n = s.shape[1];
            Tensor value, gradient;
            if (probes is int p)
            {
                // V ∈ {±1}^{p × n}; U = V (S Sᵀ − I) = (V S) Sᵀ − V. Value ‖U‖²/p; gradient (2/p)(Uᵀ (V S) + Vᵀ (U S)).
                var v = stack(members.Select(_ => drawProbes!(p, n, s)).ToList());
                var vs = v.bmm(s);
                var u = vs.bmm(s.transpose(1, 2)).sub_(v);
                value = u.square().sum(new long[] { 1, 2 }).div(p);
                gradient = u.transpose(1, 2).bmm(vs).add_(v.transpose(1, 2).bmm(u.bmm(s))).mul_(2.0 / p);
            }
            else
            {
                var e = s.bmm(s.transpose(1, 2));
                e.diagonal(0, 1, 2).sub_(1);
                value = e.square().sum(new long[] { 1, 2 });
                gradient = e.bmm(s).mul_(4.0);
            }
            gradient.mul_(scale);
            var values = value.cpu().data<float>().ToArray();
            for (int j = 0; j < members.Count; j++)
            {
                total += values[j];
                var w = members[j].Weight;
                var g = gradient[j];
                if (!rowGram) g = g.t();
                AddToGrad(w, g.reshape(w.shape));
            }
        }
        return total * scale;
    }

    private static (bool RowGram, long N, long K) SideKey(Tensor weight, GramForm form)
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
