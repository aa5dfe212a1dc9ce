using static TorchSharp.torch;

namespace DqMlNet.Attacks;

/// <summary>
/// Random sign noise at the corner of the ε-ball: x' = clip(x ± ε). Not an attack one reports as robustness, but a
/// sanity baseline: a gradient attack weaker than random noise means the gradients are masked.
/// </summary>
public sealed class RandomNoise(double epsilon) : Attack("Noise", epsilon, AttackNorm.LInf)
{
    /// <inheritdoc />
    public override bool NeedsGradients => false;

    /// <inheritdoc />
    protected override AttackOutput Run(IClassifier model, Tensor x, Tensor y, Tensor? target, AttackContext context)
    {
        var sign = context.Random.Signs(RowRandom.Stream(RandomPurpose.Noise, 0), x.shape.Skip(1).ToArray(), x.device).to_type(x.dtype);
        return new AttackOutput(x.add(sign.mul(Epsilon)), Enumerable.Repeat(1L, (int)x.shape[0]).ToArray());
    }
}
