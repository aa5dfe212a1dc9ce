using static TorchSharp.torch;

namespace DqMlNet.Attacks;

/// <summary>What an attack produced for a batch.</summary>
/// <param name="Adversarial">Adversarial images, same shape as the input, inside the ε-ball and [0, 1].</param>
/// <param name="Queries">Model queries per example (score-based attacks), or null.</param>
public sealed record AttackOutput(Tensor Adversarial, long[]? Queries = null);

/// <summary>
/// Base of every attack, in the shape of torchattacks: configure once, then <c>Generate(model, images, labels)</c>.
/// Inputs are [0, 1] pixels; outputs satisfy the threat model (‖x' − x‖ ≤ ε, x' ∈ [0, 1]) by construction.
/// Attacks are untargeted unless target labels are passed.
/// </summary>
public abstract class Attack
{
    /// <summary>Creates an attack with a threat model.</summary>
    protected Attack(string name, double epsilon, AttackNorm norm)
    {
        if (!(epsilon >= 0) || double.IsInfinity(epsilon))
            throw new ArgumentOutOfRangeException(nameof(epsilon), epsilon, "ε must be a finite number ≥ 0 (in [0, 1] pixel units; ε = 8/255 ≈ 0.031).");
        Name = name;
        Epsilon = epsilon;
        Norm = norm;
    }

    /// <summary>Short name used in reports (e.g. "PGD-20").</summary>
    public string Name { get; }

    /// <summary>Perturbation budget in [0, 1] pixel units.</summary>
    public double Epsilon { get; }

    /// <summary>Perturbation norm.</summary>
    public AttackNorm Norm { get; }

    /// <summary>
    /// Seed of the attack's randomness (random starts, restarts, Square's search). Every random value an example gets is
    /// a function of (seed, attack name, the example's global index, restart/iteration) only: see <see cref="RowRandom"/>.
    /// </summary>
    public long Seed { get; set; }

    /// <summary>Whether the attack needs input gradients (false for score-based black-box attacks).</summary>
    public virtual bool NeedsGradients => true;

    /// <summary>Human-readable settings (steps, step size, restarts, loss) for reports.</summary>
    public virtual string Describe() => $"{Name} ({Norm}, ε = {Epsilon:0.####})";

    /// <summary>
    /// The settings of a run forced to every step (<see cref="AttackContext.FullSteps"/>, as in transfer crafting), which
    /// differ from <see cref="Describe"/> only for attacks with an early stop.
    /// </summary>
    internal virtual string DescribeFullSteps() => Describe();

    /// <summary>Adversarial examples for a batch (untargeted, or towards <paramref name="targets"/>).</summary>
    public Tensor Generate(IClassifier model, Tensor images, Tensor labels, Tensor? targets = null) =>
        Perturb(model, images, labels, targets).Adversarial;

    /// <summary>Adversarial examples and query counts for a batch.</summary>
    /// <param name="model">The attacked classifier.</param>
    /// <param name="images">Clean images [N, C, H, W] in [0, 1].</param>
    /// <param name="labels">True labels [N].</param>
    /// <param name="targets">Target labels [N] for a targeted attack, or null.</param>
    /// <param name="batchIndex">
    /// Number of the batch; used only when <paramref name="globalIndices"/> is null, to key the randomness by
    /// (batch, position in the batch) as before.
    /// </param>
    /// <param name="globalIndices">
    /// The global index of each row in the evaluated set (length N, distinct). Pass it whenever the batch is part of a
    /// larger set: each row's random choices then depend only on (seed, attack name, global index, restart/iteration),
    /// so any partition of the rows — batches, cascade survivors, shards — gives bit-identical per-image results.
    /// </param>
    /// <param name="cancellationToken">
    /// Checked at every iteration (step, restart, query), so a long attack (Square's thousands of queries, FAB) stops
    /// within one iteration of a cancel with an <see cref="OperationCanceledException"/>.
    /// </param>
    public AttackOutput Perturb(IClassifier model, Tensor images, Tensor labels, Tensor? targets = null, int batchIndex = 0,
        long[]? globalIndices = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(images);
        if (globalIndices is not null && globalIndices.Length != images.shape[0])
            throw new ArgumentException(
                $"globalIndices has {globalIndices.Length} entries but the batch has {images.shape[0]} images: pass one global index per row.",
                nameof(globalIndices));
        var random = globalIndices is null
            ? new RowRandom(DqMlNet.TorchTraining.SeedMixer.Mix(Seed, Name.GetStableHashCode(), batchIndex), Enumerable.Range(0, (int)images.shape[0]).Select(i => (long)i).ToArray())
            : new RowRandom(DqMlNet.TorchTraining.SeedMixer.Mix(Seed, Name.GetStableHashCode()), (long[])globalIndices.Clone());
        return PerturbWith(model, images, labels, targets, new AttackContext(random, FullSteps: false, cancellationToken));
    }

    /// <summary>Runs the attack with explicit randomness and step policy (transfer crafting forces full steps).</summary>
    internal AttackOutput PerturbWith(IClassifier model, Tensor images, Tensor labels, Tensor? targets, AttackContext context)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (NeedsGradients && !model.HasGradients)
            throw new InvalidOperationException(
                $"{Name} needs input gradients but the classifier is a black box (scores only). Use a score-based attack " +
                "(SquareAttack), a transfer attack crafted on a differentiable substitute, or, for a DqMlNet ONNX export, " +
                "DeployedModel, whose gradients come from the file's differentiable twin.");
        if (images.dim() != 4 || labels.dim() != 1 || labels.shape[0] != images.shape[0])
            throw new ArgumentException(
                $"Attacks take images [N, C, H, W] and labels [N]; got images [{string.Join(", ", images.shape)}] and labels " +
                $"[{string.Join(", ", labels.shape)}].", nameof(images));
        using var attackState = model.BeginAttack();
        using var scope = NewDisposeScope();
        var x = images.detach().to(model.Device);
        var y = labels.detach().to(model.Device).to_type(ScalarType.Int64);
        var t = targets?.detach().to(model.Device).to_type(ScalarType.Int64);
        context.CancellationToken.ThrowIfCancellationRequested();
        if (Epsilon == 0) return new AttackOutput(x.clone().MoveToOuterDisposeScope());
        var output = Run(model, x, y, t, context);
        // Enforce the threat model whatever the subclass did (a cheap, idempotent projection).
        var adversarial = ThreatModel.Project(output.Adversarial.detach(), x, Epsilon, Norm);
        return output with { Adversarial = adversarial.MoveToOuterDisposeScope() };
    }

    /// <summary>The attack itself on tensors already on the model's device.</summary>
    protected abstract AttackOutput Run(IClassifier model, Tensor x, Tensor y, Tensor? target, AttackContext context);

    /// <summary>Per-example loss and its input gradient through the classifier's surrogate, plus the surrogate logits.</summary>
    protected static (Tensor Gradient, Tensor Loss, Tensor Logits) LossGradient(IClassifier model, Tensor x, Tensor y, Tensor? target, LossKind kind)
    {
        using var scope = NewDisposeScope();
        using var enabled = enable_grad();
        var input = x.detach().requires_grad_(true);
        var logits = model.SurrogateLogits(input);
        var loss = AttackLoss.PerExample(logits, y, target, kind);
        var gradient = autograd.grad(new[] { loss.sum() }, new[] { input })[0];
        return (gradient.detach().MoveToOuterDisposeScope(), loss.detach().MoveToOuterDisposeScope(), logits.detach().MoveToOuterDisposeScope());
    }

}

/// <summary>What one run of an attack draws its randomness from, and whether it must run every step.</summary>
/// <param name="Random">Per-example randomness keyed by global image index.</param>
/// <param name="FullSteps">
/// Forces early stop off whatever the attack's own setting (transfer crafting: an example that barely fools the
/// substitute rarely fools the target, so every step runs and the maximal-loss iterate is kept).
/// </param>
/// <param name="CancellationToken">Checked by the attack at every iteration.</param>
public sealed record AttackContext(RowRandom Random, bool FullSteps, CancellationToken CancellationToken = default);

internal static class StableHash
{
    /// <summary>FNV-1a over the UTF-16 code units: the same in every process (unlike string.GetHashCode).</summary>
    public static long GetStableHashCode(this string s)
    {
        ulong hash = 14695981039346656037UL;
        foreach (char c in s) hash = unchecked((hash ^ c) * 1099511628211UL);
        return unchecked((long)hash);
    }
}
