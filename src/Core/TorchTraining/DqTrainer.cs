using System.Diagnostics;
using DqMlNet.Attacks;
using DqMlNet.Data;
using DqMlNet.Lipschitz;
using DqMlNet.Models;
using DqMlNet.Runtime;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace DqMlNet.TorchTraining;

/// <summary>
/// Trains FP, VQ and DQ models: cross-entropy, plus (β/2)·Σ‖G − I‖²_F in DQ mode, quantization-aware through the
/// straight-through estimator. Deterministic: shuffling and augmentation of epoch e are drawn from (seed, e), so the
/// same seed and thread count give identical weights, and resuming from a checkpoint continues the same run.
/// </summary>
public sealed class DqTrainer
{
    /// <summary>Creates a trainer; throws <see cref="ArgumentException"/> for an invalid spec or options.</summary>
    public DqTrainer(ModelSpec spec, DqTrainerOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(spec);
        options ??= new DqTrainerOptions();
        spec.Validate();
        options.Validate();
        if (options.Beta > 0 && spec.Mode != TrainingMode.Defensive)
            throw new ArgumentException(
                $"β = {options.Beta} is the Lipschitz regulariser of DQ mode, but the model's mode is {spec.Mode}. " +
                "Set ModelSpec.Mode = TrainingMode.Defensive, or β = 0.", nameof(options));
        Spec = spec;
        Options = options;
    }

    /// <summary>The model to train.</summary>
    public ModelSpec Spec { get; }

    /// <summary>How to train.</summary>
    public DqTrainerOptions Options { get; }

    /// <summary>
    /// Trains on <paramref name="train"/>, evaluating on <paramref name="validation"/> after each epoch if given.
    /// Cancellation is checked every batch and throws <see cref="OperationCanceledException"/> (the last epoch's
    /// checkpoint stays valid).
    /// </summary>
    public TrainingResult Fit(ImageDataset train, ImageDataset? validation = null, IProgress<TrainingProgress>? progress = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(train);
        CheckData(train, nameof(train));
        if (validation is not null) CheckData(validation, nameof(validation));
        // Only a thread count the caller named is applied; process-wide tuning is the application's call (DqRuntime).
        if (Options.Threads is int threads) TorchRuntime.SetThreads(threads);
        var device = TorchRuntime.ParseDevice(Options.Device);

        TorchRuntime.Seed(Options.Seed);
        var model = ModelFactory.Create(Spec);
        model.to(device);
        var optimizer = CreateOptimizer(model);
        // The probes get their own generator, seeded from the run's seed, so their sequence depends on nothing else
        // and its state travels in the checkpoint: a resumed run draws exactly the probes the uninterrupted one would.
        var regularizer = Spec.Mode == TrainingMode.Defensive && Options.Beta > 0
            ? new LipschitzRegularizer(Options.Beta, Options.Lipschitz)
            {
                ProbeGenerator = Options.Lipschitz.Probes is null ? null
                    : new Generator(unchecked((ulong)SeedMixer.Mix(Options.Seed, ProbeStream)), device),
            }
            : null;

        var history = new List<EpochSummary>();
        int startEpoch = 0;
        string? checkpointPath = Options.CheckpointDirectory is null ? null : Path.Combine(Options.CheckpointDirectory, Checkpoint.FileName);
        ResumeFingerprint? fingerprint = checkpointPath is null ? null : ResumeFingerprint.For(Options, train);
        if (checkpointPath is not null && Options.Resume && Checkpoint.Find(checkpointPath) is { } found)
        {
            var checkpoint = Checkpoint.Load(found);
            if (!checkpoint.Spec.Equals(Spec))
                throw new InvalidOperationException(
                    $"Checkpoint '{found}' belongs to a different model or training recipe: the model spec differs ({checkpoint.Spec.ToJson()}). Delete it, point " +
                    "CheckpointDirectory elsewhere, or set Resume = false.");
            if (fingerprint!.Difference(checkpoint.Fingerprint) is { } difference)
                throw new InvalidOperationException(
                    $"Checkpoint '{found}' belongs to a different model or training recipe: {difference}. Resuming would not reproduce either run. " +
                    "Delete it, point CheckpointDirectory elsewhere, or set Resume = false.");
            if (checkpoint.EpochsCompleted > Options.Epochs)
                throw new InvalidOperationException(
                    $"Checkpoint '{found}' has {checkpoint.EpochsCompleted} epochs done, more than the {Options.Epochs} asked for. " +
                    "Raise Epochs, delete the checkpoint or set Resume = false.");
            checkpoint.Restore(model, optimizer, regularizer);
            startEpoch = checkpoint.EpochsCompleted;
            history.AddRange(checkpoint.History);
        }

        int n = train.Count;
        int batches = BatchCount(n);
        for (int epoch = startEpoch; epoch < Options.Epochs; epoch++)
        {
            double lr = LearningRates.At(Options, epoch);
            foreach (var group in optimizer.ParamGroups) group.LearningRate = lr;
            model.train();
            var rng = new Random(SeedMixer.Mix(Options.Seed, epoch));
            int[] order = Permutation(n, rng);
            double ceSum = 0, regSum = 0;
            long correct = 0, seen = 0;
            var clock = Stopwatch.StartNew();
            for (int b = 0; b < batches; b++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                if (Options.OneCycle is { } oneCycle)
                {
                    // A per-step schedule replaces the epoch's rate (steps counted over the whole run, resumed runs included).
                    lr = oneCycle.At(Options.LearningRate, (long)epoch * batches + b, (long)Options.Epochs * batches);
                    foreach (var group in optimizer.ParamGroups) group.LearningRate = lr;
                }
                using var scope = NewDisposeScope();
                int start = b * Options.BatchSize;
                int count = Math.Min(Options.BatchSize, n - start);
                if (b == batches - 1 && count < n - start) count = n - start; // a final batch of 1 joins its predecessor
                var index = tensor(order.AsSpan(start, count).ToArray().Select(i => (long)i).ToArray());
                var x = train.Images.index_select(0, index);
                var y = train.Labels.index_select(0, index);
                if (Options.Augment) x = Augmentation.CropAndFlip(x, Options.CropPadding, Options.HorizontalFlip, rng);
                x = x.to(device);
                y = y.to(device);

                Tensor? adversarial = null;
                if (Options.Adversarial is { } adv)
                {
                    // Crafted against the current weights in eval mode; BeginAttack restores train mode afterwards.
                    adversarial = adv.Craft(model, x, y, SeedMixer.Mix(Options.Seed, epoch, b));
                }

                var step = TrainingStep.Run(model, optimizer, regularizer, x, y, adversarial, Options.Adversarial?.Ratio ?? 0);
                float ceValue = step.CrossEntropy;
                if (!float.IsFinite(ceValue) || !float.IsFinite(step.Regularizer))
                    throw Diverged(float.IsFinite(ceValue) ? $"the regulariser became {step.Regularizer}" : $"the loss became {ceValue}", epoch, b, lr, checkpointPath);
                ceSum += ceValue * count;
                regSum += step.Regularizer * count;
                correct += step.Correct;
                seen += count;

                bool last = b == batches - 1;
                if (progress is not null && !last && (b + 1) % Options.ProgressInterval == 0)
                    progress.Report(new TrainingProgress(epoch + 1, Options.Epochs, b + 1, batches, ceSum / seen, regSum / seen,
                        (double)correct / seen, seen / clock.Elapsed.TotalSeconds, lr));
            }
            clock.Stop();
            double? validationAccuracy = validation is null ? null : ModelScoring.Accuracy(model, validation);
            var summary = new EpochSummary(epoch + 1, ceSum / seen, regSum / seen, (double)correct / seen, validationAccuracy, lr,
                clock.Elapsed.TotalSeconds, seen / clock.Elapsed.TotalSeconds);
            history.Add(summary);
            // The last step's update may itself have produced non-finite weights (the loss was checked before it):
            // never let such a model replace the last good checkpoint, nor be returned.
            if (FirstNonFinite(model) is { } bad)
                throw Diverged($"the parameter or buffer '{bad}' became non-finite", epoch, batches - 1, lr, checkpointPath);
            if (checkpointPath is not null)
            {
                new Checkpoint
                {
                    Spec = Spec,
                    Fingerprint = fingerprint!,
                    EpochsCompleted = epoch + 1,
                    History = history,
                    ModelState = Checkpoint.ModelBytes(model),
                    OptimizerState = Checkpoint.OptimizerBytes(optimizer),
                    TorchRngState = Checkpoint.TorchRngBytes(),
                    ProbeRngState = regularizer?.GetProbeState() ?? Array.Empty<byte>(),
                }.Save(checkpointPath);
            }
            progress?.Report(new TrainingProgress(epoch + 1, Options.Epochs, batches, batches, summary.CrossEntropy,
                summary.Regularizer, summary.TrainAccuracy, summary.ImagesPerSecond, lr, validationAccuracy));
        }
        model.eval();
        return new TrainingResult(model, history);
    }

    /// <summary>Stream index of the probe generator's seed (SeedMixer): "prob" in ASCII, distinct from epoch indices.</summary>
    private const long ProbeStream = 0x70726F62;

    private InvalidOperationException Diverged(string what, int epoch, int batch, double lr, string? checkpointPath) => new(
        $"Training diverged: {what} in epoch {epoch + 1}, batch {batch + 1}. Lower the learning rate (now {lr}) or β " +
        $"(now {Options.Beta})." + (checkpointPath is not null && Checkpoint.Find(checkpointPath) is { } last
            ? $" The last good checkpoint '{last}' was kept."
            : ""));

    /// <summary>The name of the first parameter or buffer holding NaN or ±∞, or null when all are finite.</summary>
    private static string? FirstNonFinite(DqModel model)
    {
        using var scope = NewDisposeScope();
        using (no_grad())
        {
            foreach (var (name, p) in model.named_parameters())
                if (!p.isfinite().all().item<bool>()) return name;
            foreach (var (name, b) in model.named_buffers())
                if (b.is_floating_point() && !b.isfinite().all().item<bool>()) return name;
        }
        return null;
    }

    private int BatchCount(int n)
    {
        int batches = (n + Options.BatchSize - 1) / Options.BatchSize;
        // BatchNorm cannot train on a batch of one image: fold such a remainder into the previous batch.
        if (batches > 1 && n % Options.BatchSize == 1) batches--;
        return batches;
    }

    private OptimizerHelper CreateOptimizer(DqModel model) => Options.Optimizer switch
    {
        OptimizerKind.Adam => optim.Adam(model.parameters(), Options.LearningRate, weight_decay: Options.WeightDecay),
        OptimizerKind.SgdNesterov => optim.SGD(model.parameters(), Options.LearningRate, momentum: Options.Momentum,
            weight_decay: Options.WeightDecay, nesterov: Options.Momentum > 0),
        _ => throw new ArgumentOutOfRangeException(nameof(Options.Optimizer), Options.Optimizer, "Unknown optimizer."),
    };

    private static int[] Permutation(int n, Random rng)
    {
        var order = Enumerable.Range(0, n).ToArray();
        for (int i = n - 1; i > 0; i--)
        {
            int j = rng.Next(i + 1);
            (order[i], order[j]) = (order[j], order[i]);
        }
        return order;
    }

    private void CheckData(ImageDataset data, string name)
    {
        if (data.Channels != Spec.Channels || data.Height != Spec.Height || data.Width != Spec.Width)
            throw new ArgumentException(
                $"The {name} images are {data.Channels}×{data.Height}×{data.Width} but the model expects " +
                $"{Spec.Channels}×{Spec.Height}×{Spec.Width}. Resize the images or set ModelSpec.Channels/Height/Width.", name);
        if (data.NumClasses != Spec.NumClasses)
            throw new ArgumentException(
                $"The {name} data has {data.NumClasses} classes but the model has {Spec.NumClasses} outputs. " +
                "Set ModelSpec.NumClasses to the dataset's class count.", name);
    }
}
