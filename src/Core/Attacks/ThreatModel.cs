using TorchSharp;
using static TorchSharp.torch;

namespace DqMlNet.Attacks;

/// <summary>The perturbation norm of a threat model.</summary>
public enum AttackNorm
{
    /// <summary>‖x' − x‖∞ ≤ ε.</summary>
    LInf,

    /// <summary>‖x' − x‖₂ ≤ ε (per example).</summary>
    L2,
}

/// <summary>Projections and random starts for ε-balls intersected with the [0, 1] pixel box.</summary>
public static class ThreatModel
{
    /// <summary>Projects <paramref name="adversarial"/> onto the ε-ball around <paramref name="clean"/> and into [0, 1].</summary>
    public static Tensor Project(Tensor adversarial, Tensor clean, double epsilon, AttackNorm norm)
    {
        using var scope = NewDisposeScope();
        Tensor result;
        if (norm == AttackNorm.LInf)
        {
            result = torch.min(torch.max(adversarial, clean.sub(epsilon)), clean.add(epsilon));
        }
        else
        {
            var delta = adversarial.sub(clean);
            var norms = delta.flatten(1).norm(1, keepdim: true).clamp_min(1e-12).reshape(-1, 1, 1, 1);
            var factor = norms.reciprocal().mul(epsilon).clamp_max(1.0);
            result = clean.add(delta.mul(factor));
        }
        return result.clamp(0f, 1f).MoveToOuterDisposeScope();
    }

    /// <summary>A uniformly random point of the ε-ball (L∞: uniform per pixel; L2: uniform direction and radius).</summary>
    public static Tensor RandomStart(Tensor clean, double epsilon, AttackNorm norm, Generator generator)
    {
        using var scope = NewDisposeScope();
        Tensor delta;
        if (norm == AttackNorm.LInf)
        {
            delta = rand(clean.shape, generator: generator).mul(2).sub(1).mul(epsilon);
        }
        else
        {
            var direction = randn(clean.shape, generator: generator);
            var norms = direction.flatten(1).norm(1, keepdim: true).clamp_min(1e-12).reshape(-1, 1, 1, 1);
            var radius = rand(new[] { clean.shape[0], 1L, 1L, 1L }, generator: generator).mul(epsilon);
            delta = direction.div(norms).mul(radius);
        }
        return Project(clean.add(delta.to(clean.device)), clean, epsilon, norm).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// A uniformly random point of the ε-ball drawn per example from <paramref name="random"/>'s stream
    /// <paramref name="stream"/>: example i's start depends only on its own key, not on the batch it is in.
    /// </summary>
    public static Tensor RandomStart(Tensor clean, double epsilon, AttackNorm norm, RowRandom random, long stream)
    {
        using var scope = NewDisposeScope();
        var shape = clean.shape.Skip(1).ToArray();
        Tensor delta;
        if (norm == AttackNorm.LInf)
        {
            delta = random.Uniform(stream, shape, clean.device).mul(2).sub(1).mul(epsilon);
        }
        else
        {
            var direction = random.Normal(stream, shape, clean.device);
            var norms = direction.flatten(1).norm(1, keepdim: true).clamp_min(1e-12).reshape(-1, 1, 1, 1);
            var radius = random.Uniform(stream ^ 0x7f4a7c15L, new[] { 1L, 1L, 1L }, clean.device).mul(epsilon);
            delta = direction.div(norms).mul(radius);
        }
        return Project(clean.add(delta), clean, epsilon, norm).MoveToOuterDisposeScope();
    }

    /// <summary>A step of size <paramref name="stepSize"/> along the gradient's steepest-ascent direction for the norm.</summary>
    public static Tensor Step(Tensor gradient, double stepSize, AttackNorm norm)
    {
        using var scope = NewDisposeScope();
        Tensor step = norm == AttackNorm.LInf
            ? gradient.sign().mul(stepSize)
            : gradient.div(gradient.flatten(1).norm(1, keepdim: true).clamp_min(1e-12).reshape(-1, 1, 1, 1)).mul(stepSize);
        return step.MoveToOuterDisposeScope();
    }

    /// <summary>Per-example perturbation norm [N] (double precision).</summary>
    public static Tensor PerturbationNorm(Tensor adversarial, Tensor clean, AttackNorm norm)
    {
        using var scope = NewDisposeScope();
        var delta = adversarial.sub(clean).flatten(1).to_type(ScalarType.Float64);
        var result = norm == AttackNorm.LInf ? delta.abs().amax(new long[] { 1 }) : delta.norm(1);
        return result.MoveToOuterDisposeScope();
    }
}
