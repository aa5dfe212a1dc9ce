namespace DqMlNet.Models;

/// <summary>The three training modes of the same architecture: FP, VQ (quantized activations) and DQ (VQ + the Lipschitz regulariser).</summary>
public enum TrainingMode
{
    /// <summary>Full precision: ReLU activations.</summary>
    FullPrecision,

    /// <summary>Vanilla quantization: k-bit quantized ReLU6, quantization-aware training with the STE.</summary>
    Vanilla,

    /// <summary>Defensive quantization: vanilla quantization plus the Lipschitz regulariser (β &gt; 0).</summary>
    Defensive,
}
