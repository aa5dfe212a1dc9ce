namespace DqMlNet.Lipschitz;

/// <summary>Which Gram matrix the orthogonality penalty uses.</summary>
public enum GramForm
{
    /// <summary>The smaller of M·Mᵀ and Mᵀ·M (G = M·Mᵀ when c_out ≤ c_in·kh·kw, else Mᵀ·M): pulls every singular value of M to 1.</summary>
    SmallerSide,

    /// <summary>Always Mᵀ·M (c_in·kh·kw square), the paper's literal ‖WᵀW − I‖ form.</summary>
    Literal,
}

/// <summary>Options of <see cref="LipschitzRegularizer"/>.</summary>
public sealed record LipschitzOptions
{
    /// <summary>Regularise the first (input) convolution. Default true.</summary>
    public bool IncludeFirstLayer { get; init; } = true;

    /// <summary>Regularise the last (classifier) layer. Default true.</summary>
    public bool IncludeLastLayer { get; init; } = true;

    /// <summary>
    /// Null (default): the exact penalty. A number p ≥ 1: an unbiased stochastic estimate with p random ±1 probe vectors
    /// per layer, ‖A‖²_F = E‖Av‖² (Hutchinson), with A = G − I applied as M(Mᵀv) − v — two matrix–vector products per
    /// probe instead of forming the Gram matrix. Cheaper for wide layers (SmallCnn's fc1: about 30× fewer multiply-adds
    /// at p = 4); its gradient is unbiased but noisy. The probes of all layers are one draw per step, from the
    /// regulariser's probe generator (DqTrainer seeds it and saves it in checkpoints) or LibTorch's global generator.
    /// </summary>
    public int? Probes { get; init; }

    /// <summary>Gram form; default <see cref="GramForm.SmallerSide"/>.</summary>
    public GramForm Form { get; init; } = GramForm.SmallerSide;
}
