using DqMlNet.Attacks;
using DqMlNet.Transforms;
using static TorchSharp.torch;

namespace DqMlNet.Evaluators;

/// <summary>
/// A fitted DQ stage as attacks see it: success is judged on the deployed model (ONNX Runtime, integer kernels for
/// VQ/DQ — exactly what the stage and a saved model score), gradients come from the TorchSharp model with
/// straight-through quantizers. Logits are log-probabilities (same arg-max and margins' sign).
/// </summary>
internal sealed class DeployedClassifier(DqTransformer stage) : IClassifier
{
    private readonly TorchClassifier torch = new(stage.Model);

    public long[] InputShape => stage.Model.Spec.InputShape;

    public int NumClasses => stage.Model.Spec.NumClasses;

    public Device Device => CPU;

    public bool HasGradients => true;

    public bool SurrogateIsExact => false;

    public Tensor Logits(Tensor input)
    {
        var probabilities = stage.Scorer.Classifier.Predict(input.detach().cpu().contiguous()).Probabilities;
        using var p = tensor(probabilities, new long[] { input.shape[0], NumClasses });
        return p.clamp_min(1e-30f).log();
    }

    public Tensor SurrogateLogits(Tensor input) => torch.SurrogateLogits(input.to(torch.Device)).cpu();

    public IDisposable BeginAttack() => torch.BeginAttack();
}
