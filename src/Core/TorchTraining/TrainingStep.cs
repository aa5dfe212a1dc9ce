using DqMlNet.Lipschitz;
using DqMlNet.Models;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace DqMlNet.TorchTraining;

/// <summary>What one optimisation step measured.</summary>
/// <param name="CrossEntropy">Cross-entropy of the batch (mixed with the adversarial one under adversarial training).</param>
/// <param name="Regularizer">(β/2)·Σ‖G − I‖² (0 without DQ).</param>
/// <param name="Correct">Correctly classified clean images of the batch.</param>
public readonly record struct StepResult(float CrossEntropy, float Regularizer, long Correct);

/// <summary>
/// One optimisation step of DQ training — the body of <see cref="DqTrainer.Fit"/>'s batch loop, also used by the
/// benchmarks so they time exactly what training runs.
/// </summary>
public static class TrainingStep
{
    /// <summary>Forward, loss (CE [+ adversarial CE] [+ regulariser]), backward and optimizer step for one batch.</summary>
    public static StepResult Run(DqModel model, OptimizerHelper optimizer, LipschitzRegularizer? regularizer, Tensor x, Tensor y,
        Tensor? adversarial = null, double adversarialRatio = 0)
    {
        using var scope = NewDisposeScope();
        optimizer.zero_grad();
        var logits = model.call(x);
        var ce = nn.functional.cross_entropy(logits, y);
        if (adversarial is not null)
        {
            var adversarialCe = nn.functional.cross_entropy(model.call(adversarial), y);
            ce = ce.mul(1 - adversarialRatio).add(adversarialCe.mul(adversarialRatio));
        }
        ce.backward();
        // The regulariser depends on the weights only, so its gradient is added in closed form after the loss's backward
        // pass rather than through autograd (same value and gradient, much less per-layer overhead).
        double reg = regularizer?.AccumulateGradients(model) ?? 0;
        optimizer.step();
        return new StepResult(ce.item<float>(), (float)reg, logits.argmax(1).eq(y).sum().item<long>());
    }
}
