using static TorchSharp.torch;

namespace DqMlNet.Attacks;

/// <summary>
/// The projected-gradient loop shared by BIM and PGD: optional random start, fixed step, projection onto the ε-ball and
/// [0, 1], several restarts, the per-example worst case over all iterates and restarts, and early stopping on examples
/// already fooled (their gradient is no longer computed).
/// </summary>
public abstract class IterativeAttack : Attack
{
    /// <summary>Configures the loop.</summary>
    protected IterativeAttack(string name, double epsilon, AttackNorm norm, int steps, double stepSize, int restarts, bool randomStart, LossKind loss)
        : base(name, epsilon, norm)
    {
        if (steps < 1) throw new ArgumentOutOfRangeException(nameof(steps), steps, "An iterative attack needs at least one step.");
        if (restarts < 1) throw new ArgumentOutOfRangeException(nameof(restarts), restarts, "Restarts must be at least 1.");
        if (!(stepSize > 0)) throw new ArgumentOutOfRangeException(nameof(stepSize), stepSize, "The step size must be positive.");
        Steps = steps;
        StepSize = stepSize;
        Restarts = restarts;
        RandomStart = randomStart;
        Loss = loss;
    }

    /// <summary>Gradient steps per restart.</summary>
    public int Steps { get; }

    /// <summary>Step size (L∞: per pixel; L2: per example).</summary>
    public double StepSize { get; }

    /// <summary>Independent restarts; the worst case over them is kept.</summary>
    public int Restarts { get; }

    /// <summary>Start each restart from a uniformly random point of the ε-ball.</summary>
    public bool RandomStart { get; }

    /// <summary>Objective.</summary>
    public LossKind Loss { get; }

    /// <inheritdoc />
    public override string Describe() =>
        $"{Name} ({Norm}, ε = {Epsilon:0.####}, {Steps} steps of {StepSize:0.#####}, {Restarts} restart(s), " +
        $"{(RandomStart ? "random" : "clean")} start, {Loss} loss)";

    /// <inheritdoc />
    protected override AttackOutput Run(IClassifier model, Tensor x, Tensor y, Tensor? target, Generator generator)
    {
        Tensor cleanLogits;
        using (no_grad()) cleanLogits = model.Logits(x);
        using var tracker = new WorstCaseTracker(x, cleanLogits, y, target, Loss);
        for (int restart = 0; restart < Restarts && !tracker.AllFooled; restart++)
        {
            var adv = RandomStart ? ThreatModel.RandomStart(x, Epsilon, Norm, generator) : x.clone();
            for (int step = 0; step <= Steps; step++)
            {
                using var scope = NewDisposeScope();
                var index = tracker.ActiveIndices();
                if (index.numel() == 0) break;
                var xa = adv.index_select(0, index);
                var ya = y.index_select(0, index);
                var ta = target?.index_select(0, index);
                if (step == Steps)
                {
                    using (no_grad()) tracker.Update(xa, model.Logits(xa), index); // score the last iterate
                    break;
                }
                var (gradient, _, surrogateLogits) = LossGradient(model, xa, ya, ta, Loss);
                if (model.SurrogateIsExact) tracker.Update(xa, surrogateLogits, index);
                else using (no_grad()) tracker.Update(xa, model.Logits(xa), index);
                var next = ThreatModel.Project(xa.add(ThreatModel.Step(gradient, StepSize, Norm)), x.index_select(0, index), Epsilon, Norm);
                var previous = adv;
                adv = adv.index_copy(0, index, next).MoveToOuterDisposeScope();
                previous.Dispose(); // keep one iterate alive, not one per step
            }
        }
        return new AttackOutput(tracker.Best.clone());
    }
}
