using DqMlNet.Attacks;
using DqMlNet.Lipschitz;
using DqMlNet.Models;
using DqMlNet.Runtime;
using DqMlNet.TorchTraining;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace DqMlNet.Bench;

/// <summary>
/// A model, its Adam optimizer and one fixed random batch: <see cref="Step"/> is DqTrainer's inner loop body
/// (forward, cross-entropy, regulariser in DQ mode, backward, optimizer step, the loss/accuracy reads).
/// </summary>
internal sealed class Trainee : IDisposable
{
    public Trainee(ModelSpec spec, int batch, double beta, int seed = 1, LipschitzOptions? lipschitz = null)
    {
        TorchRuntime.Seed(seed);
        Model = ModelFactory.Create(spec);
        Model.train();
        Optimizer = optim.Adam(Model.parameters(), 1e-3);
        Regularizer = beta > 0 ? new LipschitzRegularizer(beta, lipschitz) : null;
        var gen = new Generator((ulong)seed + 17);
        X = rand(new long[] { batch, spec.Channels, spec.Height, spec.Width }, generator: gen);
        Y = randint(0, spec.NumClasses, new long[] { batch }, dtype: ScalarType.Int64, generator: gen);
    }

    public DqModel Model { get; }

    public OptimizerHelper Optimizer { get; }

    public LipschitzRegularizer? Regularizer { get; }

    public Tensor X { get; }

    public Tensor Y { get; }

    /// <summary>One training step (as DqTrainer.Fit does it for a batch).</summary>
    public void Step() => TrainingStep.Run(Model, Optimizer, Regularizer, X, Y);

    /// <summary>The regulariser's value and gradient as training computes them (closed form): its share of a DQ step.</summary>
    public void RegularizerOnly()
    {
        if (Regularizer is null) throw new InvalidOperationException("Not a DQ trainee.");
        using var scope = NewDisposeScope();
        Optimizer.zero_grad();
        _ = Regularizer.AccumulateGradients(Model);
    }

    /// <summary>Forward + backward only (no optimizer step), the PyTorch peer's unit of work is a full step too.</summary>
    public void ForwardBackward()
    {
        using var scope = NewDisposeScope();
        Optimizer.zero_grad();
        var loss = nn.functional.cross_entropy(Model.call(X), Y);
        loss.backward();
        _ = loss.item<float>();
    }

    public void Dispose()
    {
        Optimizer.Dispose();
        Model.Dispose();
        X.Dispose();
        Y.Dispose();
    }
}

/// <summary>
/// A frozen copy of a model under attack (TorchClassifier.BeginAttack: eval mode, parameters frozen) and one PGD step:
/// the input gradient of the per-example cross-entropy through the straight-through surrogate, the signed step and
/// the projection, exactly the work of one IterativeAttack iteration.
/// </summary>
internal sealed class AttackTarget : IDisposable
{
    private readonly IDisposable attackState;

    public AttackTarget(ModelSpec spec, Tensor x, Tensor y, int seed = 1)
    {
        TorchRuntime.Seed(seed);
        Model = ModelFactory.Create(spec);
        Classifier = new TorchClassifier(Model);
        attackState = Classifier.BeginAttack();
        X = x;
        Y = y;
    }

    public DqModel Model { get; }

    public TorchClassifier Classifier { get; }

    public Tensor X { get; }

    public Tensor Y { get; }

    public void PgdStep(double epsilon = 8 / 255.0, double stepSize = 2 / 255.0)
    {
        using var scope = NewDisposeScope();
        using var enabled = enable_grad();
        var input = X.detach().requires_grad_(true);
        var logits = Classifier.SurrogateLogits(input);
        var loss = AttackLoss.PerExample(logits, Y, null, LossKind.CrossEntropy);
        var gradient = autograd.grad(new[] { loss.sum() }, new[] { input })[0];
        var next = ThreatModel.Project(X.add(ThreatModel.Step(gradient, stepSize, AttackNorm.LInf)), X, epsilon, AttackNorm.LInf);
        _ = next.sum().item<float>();
    }

    public void Dispose()
    {
        attackState.Dispose();
        Model.Dispose();
    }
}
