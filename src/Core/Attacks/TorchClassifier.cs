using DqMlNet.Models;
using DqMlNet.Quantization;
using static TorchSharp.torch;

namespace DqMlNet.Attacks;

/// <summary>
/// Wraps a <see cref="DqModel"/> for attacks. Gradients pass quantizers straight-through by default (BPDA: the quantized
/// forward pass, the ReLU6 backward pass); with <see cref="QuantizerGradient.SmoothProxy"/> they come from the
/// un-quantized ReLU6 surrogate (a surrogate-gradient attack) while success is still judged on the true quantized model.
/// </summary>
public sealed class TorchClassifier : IClassifier
{
    /// <summary>Wraps <paramref name="model"/>; <paramref name="gradient"/> selects the attack gradient of its quantizers.</summary>
    public TorchClassifier(DqModel model, QuantizerGradient gradient = QuantizerGradient.StraightThrough)
    {
        Model = model ?? throw new ArgumentNullException(nameof(model));
        Gradient = gradient;
        Device = model.parameters().First().device;
        quantizers = model.Activations.OfType<QuantizedReLU6>().ToList();
    }

    private readonly List<QuantizedReLU6> quantizers;

    /// <summary>The wrapped model.</summary>
    public DqModel Model { get; }

    /// <summary>Gradient mode of the quantizers during <see cref="SurrogateLogits"/>.</summary>
    public QuantizerGradient Gradient { get; }

    /// <inheritdoc />
    public long[] InputShape => Model.Spec.InputShape;

    /// <inheritdoc />
    public int NumClasses => Model.Spec.NumClasses;

    /// <inheritdoc />
    public Device Device { get; }

    /// <inheritdoc />
    public bool HasGradients => true;

    /// <inheritdoc />
    public bool SurrogateIsExact => !Model.Spec.IsQuantized || Gradient != QuantizerGradient.SmoothProxy;

    /// <inheritdoc />
    public Tensor Logits(Tensor input)
    {
        Model.ValidateInput(input);
        using var mode = QuantizerMode(Gradient == QuantizerGradient.SmoothProxy ? QuantizerGradient.StraightThrough : Gradient);
        return Model.call(input);
    }

    /// <inheritdoc />
    public Tensor SurrogateLogits(Tensor input)
    {
        Model.ValidateInput(input);
        using var mode = QuantizerMode(Gradient);
        return Model.call(input);
    }

    /// <inheritdoc />
    public IDisposable BeginAttack()
    {
        bool wasTraining = Model.training;
        var frozen = Model.parameters().Where(p => p.requires_grad).ToList();
        Model.eval();
        foreach (var p in frozen) p.requires_grad_(false);
        return new Restore(() =>
        {
            foreach (var p in frozen) p.requires_grad_(true);
            Model.train(wasTraining);
        });
    }

    private IDisposable QuantizerMode(QuantizerGradient mode)
    {
        var previous = quantizers.Select(q => q.Gradient).ToList();
        foreach (var q in quantizers) q.Gradient = mode;
        return new Restore(() =>
        {
            for (int i = 0; i < quantizers.Count; i++) quantizers[i].Gradient = previous[i];
        });
    }

    private sealed class Restore(Action undo) : IDisposable
    {
        private Action? undo = undo;

        public void Dispose()
        {
            undo?.Invoke();
            undo = null;
        }
    }
}
