using static TorchSharp.torch;

namespace DqMlNet.Attacks;

/// <summary>
/// The projected-gradient loop shared by BIM, PGD and MI-FGSM: optional random start, fixed step (optionally along a
/// momentum of L1-normalised gradients), projection onto the ε-ball and [0, 1], several restarts. With
/// <see cref="EarlyStop"/> (evaluation) an example stops being attacked once fooled and keeps its first fooling
/// iterate; without it (transfer crafting, adversarial training) every example runs every step of every restart and
/// keeps its maximal-loss iterate on the attacked model.
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

    /// <summary>
    /// Stop attacking an example once it is fooled (default, for evaluation: the answer "fooled or not" is all that is
    /// needed, and it is cheaper). Off: every example runs every step of every restart and the iterate kept is the one
    /// with maximal loss on the attacked model — what transfer crafting and adversarial training need.
    /// </summary>
    public bool EarlyStop { get; init; } = true;

    /// <summary>
    /// Momentum μ of MI-FGSM (Dong et al. 2018): g ← μ·g + ∇/‖∇‖₁, step along sign(g). 0 (default) is plain PGD/BIM.
    /// Momentum stabilises the direction and makes examples transfer better to other models.
    /// </summary>
    public double Momentum
    {
        get => momentum;
        init => momentum = value >= 0 && double.IsFinite(value) ? value : throw new ArgumentOutOfRangeException(nameof(Momentum), value, "Momentum must be a finite number ≥ 0.");
    }

    private readonly double momentum;

    /// <inheritdoc />
    public override string Describe() => Describe(EarlyStop);

    /// <inheritdoc />
    internal override string DescribeFullSteps() => Describe(earlyStop: false);

    private string Describe(bool earlyStop) =>
        $"{Name} ({Norm}, ε = {Epsilon:0.####}, {Steps} steps of {StepSize:0.#####}, {Restarts} restart(s), " +
        $"{(RandomStart ? "random" : "clean")} start, {Loss} loss{(Momentum > 0 ? $", momentum {Momentum:0.##}" : "")}, " +
        $"{(earlyStop ? "early stop" : "all steps, max-loss iterate")})";

    /// <inheritdoc />
    protected override AttackOutput Run(IClassifier model, Tensor x, Tensor y, Tensor? target, AttackContext context)
    {
        Tensor cleanLogits;
        using (no_grad()) cleanLogits = model.Logits(x);
        bool earlyStop = EarlyStop && !context.FullSteps;
        using var tracker = new WorstCaseTracker(x, cleanLogits, y, target, Loss, earlyStop: earlyStop);
        for (int restart = 0; restart < Restarts && !tracker.Done; restart++)
        {
            var adv = RandomStart ? ThreatModel.RandomStart(x, Epsilon, Norm, context.Random, RowRandom.Stream(RandomPurpose.Start, restart)) : x.clone();
            var velocity = Momentum > 0 ? zeros_like(x) : null;
            for (int step = 0; step <= Steps; step++)
            {
                context.CancellationToken.ThrowIfCancellationRequested();
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
                if (velocity is not null)
                {
                    var l1 = gradient.abs().flatten(1).sum(1).clamp_min(1e-12).reshape(-1, 1, 1, 1);
                    var g = velocity.index_select(0, index).mul(Momentum).add(gradient.div(l1));
                    var previousVelocity = velocity;
                    velocity = velocity.index_copy(0, index, g).MoveToOuterDisposeScope();
                    previousVelocity.Dispose();
                    gradient = g;
                }
                var next = ThreatModel.Project(xa.add(ThreatModel.Step(gradient, StepSize, Norm)), x.index_select(0, index), Epsilon, Norm);
                var previous = adv;
                adv = adv.index_copy(0, index, next).MoveToOuterDisposeScope();
                previous.Dispose(); // keep one iterate alive, not one per step
            }
            velocity?.Dispose();
        }
        return new AttackOutput(tracker.Best.clone());
    }
}
