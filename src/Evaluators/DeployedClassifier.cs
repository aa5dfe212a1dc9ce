using DqMlNet.Attacks;
using DqMlNet.Models;
using DqMlNet.Quantization;
using DqMlNet.Transforms.Onnx;
using static TorchSharp.torch;

namespace DqMlNet.Evaluators;

/// <summary>
/// A deployed ONNX export as white-box attacks see it: the score-only <see cref="OnnxClassifier"/> given gradients.
/// <see cref="Logits"/> is the deployed model itself (<see cref="OnnxClassifier.Logits"/>: ONNX Runtime, integer
/// kernels for VQ/DQ — exactly what a fitted stage, a saved zip and the ONNX file score): every "fooled" an attack
/// records and every verdict comes from it. <see cref="SurrogateLogits"/> is the file's differentiable twin
/// (<see cref="DeployedReplica"/>: the same int8 weights, folded BatchNorm and activation grid) with straight-through
/// quantizer gradients (this library's BPDA), or with the smooth-proxy surrogate gradient (un-quantized ReLU6). No
/// gradient comes from the float training model.
/// </summary>
public sealed class DeployedClassifier : IClassifier
{
    private readonly OnnxClassifier session;
    private readonly TorchClassifier twin;

    /// <summary>Judges on <paramref name="session"/>; gradients from <paramref name="replica"/> (see <see cref="DeployedReplica"/>).</summary>
    public DeployedClassifier(OnnxClassifier session, DqModel replica, QuantizerGradient gradient = QuantizerGradient.StraightThrough)
    {
        this.session = session ?? throw new ArgumentNullException(nameof(session));
        ArgumentNullException.ThrowIfNull(replica);
        if (session.NumClasses != replica.Spec.NumClasses)
            throw new ArgumentException($"The ONNX model has {session.NumClasses} classes but the replica {replica.Spec.NumClasses}.", nameof(replica));
        if (!session.InputShape.SequenceEqual(replica.Spec.InputShape))
            throw new ArgumentException(
                $"The ONNX model takes [{string.Join(", ", session.InputShape)}] images but the replica [{string.Join(", ", replica.Spec.InputShape)}].", nameof(replica));
        twin = new TorchClassifier(replica, gradient);
    }

    /// <summary>The deployed model that judges.</summary>
    public OnnxClassifier Session => session;

    /// <summary>The differentiable twin the gradients come from.</summary>
    public DqModel Replica => twin.Model;

    /// <summary>Gradient mode of the twin's quantizers.</summary>
    public QuantizerGradient Gradient => twin.Gradient;

    /// <inheritdoc />
    public long[] InputShape => twin.InputShape;

    /// <inheritdoc />
    public int NumClasses => session.NumClasses;

    /// <inheritdoc />
    public Device Device => CPU;

    /// <inheritdoc />
    public bool HasGradients => true;

    /// <summary>Always false: candidates are scored on ONNX Runtime, never on the twin.</summary>
    public bool SurrogateIsExact => false;

    /// <summary>
    /// The deployed model's logits: the file's own <c>logits</c> output, which every DqMlNet export carries (see
    /// <see cref="OnnxClassifier.Logits"/> for the log-probability fallback of a file without one).
    /// </summary>
    public Tensor Logits(Tensor input) => session.Logits(input);

    /// <inheritdoc />
    public Tensor SurrogateLogits(Tensor input) => twin.SurrogateLogits(input.to(twin.Device)).cpu();

    /// <inheritdoc />
    public IDisposable BeginAttack() => twin.BeginAttack();
}
