namespace DqMlNet.TorchTraining;

/// <summary>Optimizers the trainer offers.</summary>
public enum OptimizerKind
{
    /// <summary>Adam (β₁ 0.9, β₂ 0.999), L2 weight decay added to the gradient as in PyTorch.</summary>
    Adam,

    /// <summary>SGD with Nesterov momentum: the paper's WRN recipe (momentum 0.9, weight decay 5e-4).</summary>
    SgdNesterov,
}
