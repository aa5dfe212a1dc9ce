namespace DqMlNet.Quantization;

/// <summary>How a <see cref="QuantizedReLU6"/> behaves in the backward pass (and, for the proxy, the forward pass).</summary>
public enum QuantizerGradient
{
    /// <summary>Quantized forward, straight-through gradient (1 on (0, 6)). Training and standard attacks.</summary>
    StraightThrough,

    /// <summary>
    /// Un-quantized ReLU6 forward and gradient: the smooth proxy of BPDA. Attacks take gradients through the proxy and
    /// score candidates on the true quantized model.
    /// </summary>
    SmoothProxy,

    /// <summary>Quantized forward with the true (zero) derivative of rounding: a gradient-masked model, for checks only.</summary>
    None,
}
