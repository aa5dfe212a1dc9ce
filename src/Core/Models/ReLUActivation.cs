using static TorchSharp.torch;

namespace DqMlNet.Models;

/// <summary>Full-precision ReLU (the FP mode's activation).</summary>
public sealed class ReLUActivation : ActivationLayer
{
    /// <summary>Creates the layer.</summary>
    public ReLUActivation() : base(nameof(ReLUActivation)) { }

    /// <inheritdoc />
    protected override Tensor Activate(Tensor x) => nn.functional.relu(x);
}
