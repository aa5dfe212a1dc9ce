using DqMlNet.Quantization;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace DqMlNet.Models;

/// <summary>
/// Base of DqMlNet's image classifiers. Input: [N, C, H, W] pixels in [0, 1] (normalisation is the first layer);
/// output: logits [N, classes]. One model definition serves FP, VQ and DQ through <see cref="NewActivation"/>.
/// </summary>
public abstract class DqModel : nn.Module<Tensor, Tensor>
{
    /// <summary>Creates the base; derived classes build layers and call <c>RegisterComponents()</c>.</summary>
    protected DqModel(string name, ModelSpec spec) : base(name)
    {
        spec.Validate();
        Spec = spec;
    }

    /// <summary>
    /// The model as stacks applied one after another (forward is exactly their composition), so an exporter can walk
    /// every layer in order.
    /// </summary>
    public abstract IReadOnlyList<LayerStack> Stages { get; }

    /// <summary>What this model is (architecture, shape, mode, bits, normalisation).</summary>
    public ModelSpec Spec { get; }

    /// <summary>The activation of this model's mode: ReLU (FP) or k-bit quantized ReLU6 (VQ/DQ).</summary>
    protected ActivationLayer NewActivation() =>
        Spec.IsQuantized ? new QuantizedReLU6(Spec.ActivationBits) : new ReLUActivation();

    /// <summary>A convolution with this model's weight quantization.</summary>
    protected QuantConv2d NewConv(long inChannels, long outChannels, long kernel, long stride = 1, long padding = 0, bool bias = true) =>
        new(inChannels, outChannels, kernel, stride, padding, bias, Spec.WeightBits);

    /// <summary>A fully connected layer with this model's weight quantization.</summary>
    protected QuantLinear NewLinear(long inFeatures, long outFeatures) => new(inFeatures, outFeatures, true, Spec.WeightBits);

    /// <summary>The first-layer normalisation of this model's spec.</summary>
    protected Normalization NewNormalization() => new(Spec.Mean, Spec.Std);

    /// <summary>Every activation layer, in registration order.</summary>
    public IReadOnlyList<ActivationLayer> Activations => modules().OfType<ActivationLayer>().ToList();

    /// <summary>Every convolution and linear layer's latent weight, input side first, classifier last.</summary>
    public IReadOnlyList<WeightLayer> WeightLayers
    {
        get
        {
            var layers = new List<WeightLayer>();
            foreach (var (name, module) in named_modules())
            {
                if (module is QuantConv2d conv) layers.Add(new WeightLayer(name, conv.Weight, WeightLayerKind.Convolution));
                else if (module is QuantLinear linear) layers.Add(new WeightLayer(name, linear.Weight, WeightLayerKind.Linear));
            }
            return layers;
        }
    }

    /// <summary>
    /// Checks that <paramref name="input"/> is a float batch [N, C, H, W] of this model's shape; throws an
    /// <see cref="ArgumentException"/> that says what was expected otherwise.
    /// </summary>
    public void ValidateInput(Tensor input, string paramName = "input")
    {
        var expected = $"[N, {Spec.Channels}, {Spec.Height}, {Spec.Width}]";
        if (input.dim() != 4 || input.shape[1] != Spec.Channels || input.shape[2] != Spec.Height || input.shape[3] != Spec.Width)
            throw new ArgumentException(
                $"Input tensor has shape [{string.Join(", ", input.shape)}] but the model expects {expected} " +
                $"({Spec.Channels}-channel {Spec.Height}×{Spec.Width} images, pixels in [0, 1]). " +
                "Reshape the batch (e.g. images.reshape(-1, C, H, W)) or build the model with the data's shape.", paramName);
        if (!input.is_floating_point())
            throw new ArgumentException(
                $"Input tensor has dtype {input.dtype}; the model expects float pixels in [0, 1]. Convert with " +
                ".to_type(ScalarType.Float32).div(255) for byte images.", paramName);
    }

    /// <summary>
    /// One forward pass that also returns every activation layer's output, in execution order (for error
    /// amplification). The caller owns the returned tensors.
    /// </summary>
    public (Tensor Logits, IReadOnlyList<Tensor> Activations) ForwardWithActivations(Tensor input)
    {
        var sink = new List<Tensor>();
        var layers = Activations;
        foreach (var a in layers) a.RecordInto(sink);
        try
        {
            var logits = forward(input);
            return (logits, sink);
        }
        finally
        {
            foreach (var a in layers) a.RecordInto(null);
        }
    }

    /// <summary>Number of trainable parameters.</summary>
    public long ParameterCount => parameters().Sum(p => p.numel());
}

/// <summary>Kind of a weight layer.</summary>
public enum WeightLayerKind
{
    /// <summary>2-D convolution, weight [c_out, c_in, kh, kw].</summary>
    Convolution,

    /// <summary>Fully connected, weight [out, in].</summary>
    Linear,
}

/// <summary>A named conv/linear weight of a model.</summary>
public sealed record WeightLayer(string Name, Parameter Weight, WeightLayerKind Kind);
