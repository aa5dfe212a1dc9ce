namespace DqMlNet.Quantization;

/// <summary>How a <see cref="QuantizedReLU6"/> behaves in the backward pass (and, for the proxy, the forward pass).</summary>
public enum QuantizerGradient
{
    /// <summary>
    /// Quantized forward, straight-through gradient (1 on (0, 6)). Training and standard attacks. For attacks this is
    /// BPDA (backward pass differentiable approximation): the true quantized forward pass, the backward pass of the
    /// un-quantized ReLU6 it approximates.
    /// </summary>
    StraightThrough,

    /// <summary>
    /// Un-quantized ReLU6 forward and gradient: a smooth surrogate model. A surrogate-gradient attack takes its gradients
    /// from this proxy (forward and backward, unlike BPDA, whose forward pass stays quantized) and scores every candidate
    /// on the true quantized model.
    /// </summary>
    SmoothProxy,

    /// <summary>Quantized forward with the true (zero) derivative of rounding: a gradient-masked model, for checks only.</summary>
    None,
}
