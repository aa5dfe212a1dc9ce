using DqMlNet.Models;
using static TorchSharp.torch;

namespace DqMlNet.Lipschitz;

/// <summary>
/// The "defensive" part of DQ: <c>(β/2) · Σ_l ‖G_l − I‖²_F</c> over conv/linear weights viewed as
/// M ∈ ℝ^{c_out × c_in·kh·kw}, with G the Gram matrix on the smaller side. Keeping every layer near-orthogonal keeps
/// it non-expansive, so quantization removes small perturbations instead of amplifying them.
/// </summary>
public sealed class LipschitzRegularizer
{
    /// <summary>Creates the regulariser; β ≥ 0 (β = 0 is vanilla quantization).</summary>
    public LipschitzRegularizer(double beta, LipschitzOptions? options = null)
    {
        if (!(beta >= 0) || double.IsInfinity(beta))
            throw new ArgumentOutOfRangeException(nameof(beta), beta,
                "β must be a finite number ≥ 0; the paper's range is about 3e-4 to 2e-3.");
        Beta = beta;
        Options = options ?? new LipschitzOptions();
        if (Options.Probes is < 1)
            throw new ArgumentOutOfRangeException(nameof(options), Options.Probes,
                "LipschitzOptions.Probes must be at least 1 (or null for the exact penalty); 4 is a good start.");
    }

    /// <summary>Regularisation strength β.</summary>
    public double Beta { get; }

    /// <summary>Which layers and which Gram form.</summary>
    public LipschitzOptions Options { get; }

    /// <summary>
    /// The generator the stochastic penalty draws its ±1 probes from, or null for TorchSharp's global generator. A
    /// dedicated generator (on the weights' device) keeps the probe sequence independent of every other random draw, and
    /// its state can be saved with a checkpoint (<see cref="GetProbeState"/>), so a resumed run draws the same probes.
    /// </summary>
    public Generator? ProbeGenerator { get; init; }

    /// <summary>The state of <see cref="ProbeGenerator"/> as bytes (null when the global generator is used).</summary>
    public byte[]? GetProbeState()
    {
        if (ProbeGenerator is null) return null;
        using var state = ProbeGenerator.get_state();
        return state.data<byte>().ToArray();
    }

    /// <summary>Restores a state returned by <see cref="GetProbeState"/>.</summary>
    public void SetProbeState(byte[] state)
    {
        ArgumentNullException.ThrowIfNull(state);
        if (ProbeGenerator is null) throw new InvalidOperationException("This regulariser has no probe generator to restore.");
        using var t = tensor(state, ScalarType.Byte);
        ProbeGenerator.set_state(t);
    }

    /// <summary>The weight layers of <paramref name="model"/> this regulariser constrains, honouring first/last options.</summary>
    public IReadOnlyList<WeightLayer> SelectLayers(DqModel model)
    {
        var all = model.WeightLayers;
        var selected = new List<WeightLayer>(all.Count);
        for (int i = 0; i < all.Count; i++)
        {
            if (i == 0 && !Options.IncludeFirstLayer) continue;
            if (i == all.Count - 1 && !Options.IncludeLastLayer) continue;
            selected.Add(all[i]);
        }
        return selected;
    }

    /// <summary>(β/2) · Σ ‖G − I‖²_F over the model's selected layers, differentiable w.r.t. the live weights.</summary>
    public Tensor Compute(DqModel model) => Compute(SelectLayers(model).Select(l => (Tensor)l.Weight));

    /// <summary>
    /// (β/2) · Σ ‖G − I‖²_F over <paramref name="weights"/>; with <see cref="LipschitzOptions.Probes"/>, its unbiased
    /// estimate from one draw of ±1 probes for all layers (layer l uses its own columns of the draw, in order).
    /// </summary>
    public Tensor Compute(IEnumerable<Tensor> weights)
    {
        var list = weights.ToList();
        if (list.Count == 0) throw new InvalidOperationException("The Lipschitz regulariser found no conv or linear weights to constrain.");
        using var scope = NewDisposeScope();
        Tensor? sum = null;
        Tensor? v = null;
        long offset = 0;
        if (Options.Probes is int p)
            using (no_grad())
                v = DrawProbes(p, list.Sum(w => OrthogonalityGradient.SideKey(w, Options.Form).N), list[0], ProbeGenerator);
        foreach (var w in list)
        {
            Tensor term;
            if (v is not null)
            {
                long n = OrthogonalityGradient.SideKey(w, Options.Form).N;
                term = StochasticPenalty(w, v.narrow(1, offset, n), Options.Form);
                offset += n;
            }
            else
            {
                term = OrthogonalityPenalty(w, Options.Form);
            }
            sum = sum is null ? term : sum.add(term);
        }
        return sum!.mul(Beta / 2).MoveToOuterDisposeScope();
    }

    /// <summary>‖G − I‖²_F for one weight (any shape [c_out, ...]); G on the smaller side unless <paramref name="form"/> says otherwise.</summary>
    public static Tensor OrthogonalityPenalty(Tensor weight, GramForm form = GramForm.SmallerSide)
    {
        var (rowGram, n, _) = OrthogonalityGradient.SideKey(weight, form);
        using var scope = NewDisposeScope();
        var m = weight.flatten(1);
        // G = S Sᵀ (S = M or Mᵀ) is symmetric, so the gradient through its second factor equals the one through its
        // first: differentiate through one factor only and double it (2e − e.detach() has e's value, exactly, and twice
        // its gradient). That drops one of the two backward matrix products, the largest cost after the Gram itself.
        // linear(a, b) = a·bᵀ and mse_loss(Sum) = ‖G − I‖²_F keep the autograd graph short. Values and gradients are
        // bit-identical to the plain (S·Sᵀ − I)² sum on this machine's LibTorch (checked on SmallCnn and VGG).
        var side = rowGram ? m : m.t();
        var gram = nn.functional.linear(side, side.detach());
        var identity = eye(n, dtype: gram.dtype, device: gram.device);
        var penalty = nn.functional.mse_loss(gram, identity, nn.Reduction.Sum);
        return penalty.mul(2).sub(penalty.detach()).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Adds the gradient of <see cref="Compute(DqModel)"/> with respect to the selected weights to their <c>grad</c>, in
    /// closed form (no autograd graph), and returns the penalty's value. Training uses this after the loss's backward
    /// pass: the same penalty and gradient as <c>Compute(model).backward()</c> up to float rounding, at a fraction of the
    /// cost, because the regulariser's small matrix products are dominated by per-node autograd overhead.
    /// </summary>
    public double AccumulateGradients(DqModel model)
    {
        ArgumentNullException.ThrowIfNull(model);
        var weights = SelectLayers(model).Select(l => (Tensor)l.Weight).ToList();
        if (weights.Count == 0) throw new InvalidOperationException("The Lipschitz regulariser found no conv or linear weights to constrain.");
        return OrthogonalityGradient.Accumulate(weights, Beta / 2, Options.Form, Options.Probes,
            (p, n, like) => DrawProbes(p, n, like, ProbeGenerator));
    }

    /// <summary>±1 probe rows [p, n] in the dtype and on the device of <paramref name="like"/>, from <paramref name="generator"/> (null: the global one).</summary>
    private static Tensor DrawProbes(int probes, long n, Tensor like, Generator? generator) =>
        randint(0, 2, new[] { (long)probes, n }, dtype: like.dtype, device: like.device, generator: generator).mul_(2).sub_(1);

    /// <summary>
    /// An unbiased estimate of ‖G − I‖²_F from <paramref name="probes"/> random ±1 vectors v: mean of ‖(G − I)v‖²,
    /// computed as M(Mᵀv) − v (row Gram) or Mᵀ(Mv) − v without forming G. Probes come from <paramref name="generator"/>,
    /// or from the global generator when it is null.
    /// </summary>
    public static Tensor StochasticPenalty(Tensor weight, int probes, GramForm form = GramForm.SmallerSide, Generator? generator = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(probes, 1);
        using var scope = NewDisposeScope();
        Tensor v;
        using (no_grad()) v = DrawProbes(probes, OrthogonalityGradient.SideKey(weight, form).N, weight, generator);
        return StochasticPenalty(weight, v, form).MoveToOuterDisposeScope();
    }

    /// <summary>The estimate of <see cref="StochasticPenalty(Tensor, int, GramForm, Generator?)"/> for given probe rows <paramref name="v"/> [p, n].</summary>
    private static Tensor StochasticPenalty(Tensor weight, Tensor v, GramForm form)
    {
        bool rowGram = OrthogonalityGradient.SideKey(weight, form).RowGram;
        using var scope = NewDisposeScope();
        var m = weight.flatten(1);
        // Probes as rows, v ∈ {±1}^{probes × n}, so (G v)ᵀ is two products without a transposed view:
        // row Gram (v M) Mᵀ = linear(v M, M); column Gram (v Mᵀ) M = linear(v, M) M; mse_loss(Sum) fuses ‖Gv − v‖².
        var gv = rowGram ? nn.functional.linear(v.matmul(m), m) : nn.functional.linear(v, m).matmul(m);
        return nn.functional.mse_loss(gv, v, nn.Reduction.Sum).div(v.shape[0]).MoveToOuterDisposeScope();
    }
}
