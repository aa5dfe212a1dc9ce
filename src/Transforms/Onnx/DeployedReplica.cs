using DqMlNet.Models;
using Onnx;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace DqMlNet.Transforms.Onnx;

/// <summary>
/// A differentiable TorchSharp twin of an ONNX file written by <see cref="OnnxExporter"/>: the file's own weights
/// (int8 per-channel weights dequantized as <c>DequantizeLinear</c> computes them, BatchNorm already folded by the
/// export, int32 biases dequantized), the same uint8 activation grid (round half to even, levels 0 … 2^k − 1, scale
/// 6/(2^k − 1)) behind every activation including the first, float convolution, the linear layer's columns put
/// back from the export's channels-last flatten, and — for a WRN exported with
/// <see cref="OnnxExportOptions.QuantizeResiduals"/> — each residual sum, its convolutions and an identity shortcut rounded
/// onto the file's uint8 grid (<see cref="PreActivationBlock.OutputGrid"/>). Attacks take their gradients from it when the deployed export is
/// evaluated, so no gradient comes from the float training model.
/// </summary>
/// <remarks>
/// The twin computes in float32 where ONNX Runtime's integer kernels accumulate in int32 and requantize with a float
/// multiplier, so a pre-activation that lands within a rounding error of a grid midpoint can fall on the other level;
/// the predicted labels agree on ≥ 99.8 % of images (tested). Success is always judged on ONNX Runtime itself.
/// </remarks>
public static class DeployedReplica
{
    /// <summary>Builds the twin of an ONNX file written by <see cref="OnnxExporter"/> (in eval mode).</summary>
    public static DqModel Load(string path) => Load(OnnxModelLoader.ReadModel(path));

    /// <summary>Builds the twin of ONNX bytes written by <see cref="OnnxExporter"/> (in eval mode).</summary>
    public static DqModel Load(byte[] onnx) => Load(OnnxModelLoader.ReadModel(onnx));

    /// <summary>Builds the twin of a parsed ONNX model written by <see cref="OnnxExporter"/> (in eval mode).</summary>
    public static DqModel Load(ModelProto model)
    {
        ArgumentNullException.ThrowIfNull(model);
        var spec = OnnxModelLoader.ReadSpec(model);
        // The file's weights are already the integer grid times the scale. A model rebuilt with weight bits would
        // re-derive each channel's scale from them (max|w| / level) and round again, which may move a weight by an ulp;
        // without weight bits the twin uses the file's values verbatim.
        var twin = model.Clone();
        if (spec.WeightBits is not null)
        {
            foreach (var entry in twin.MetadataProps)
                if (entry.Key == OnnxMetadataKeys.ModelSpec) entry.Value = (spec with { WeightBits = null }).ToJson();
        }
        var dq = OnnxModelLoader.Load(twin);
        try
        {
            ExactIdentityBatchNorms(dq);
            dq.eval();
            return dq;
        }
        catch
        {
            dq.Dispose();
            throw;
        }
    }

    /// <summary>
    /// The loader stands a folded BatchNorm in as an identity (weight 1, mean 0, variance 1 − ε); in float32,
    /// (1 − ε) + ε need not be exactly 1, which would scale every activation by an ulp. Variance 1 with ε = 0 divides
    /// by exactly 1, so the layer only adds the folded bias, as the export's Conv does.
    /// </summary>
    private static void ExactIdentityBatchNorms(DqModel model)
    {
        using var noGrad = no_grad();
        foreach (var module in model.modules().OfType<BatchNorm2d>())
        {
            if (module.weight is null || module.running_mean is null || module.running_var is null) continue;
            bool identity = module.weight.eq(1).all().item<bool>() && module.running_mean.eq(0).all().item<bool>()
                && module.running_var.sub(1 - module.eps).abs().max().item<float>() < 1e-6f;
            if (!identity) continue;
            module.running_var.fill_(1);
            module.eps = 0;
        }
    }
}
