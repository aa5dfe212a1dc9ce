using DqMlNet.Attacks;
using static TorchSharp.torch;

namespace DqMlNet.Evaluators;

/// <summary>
/// Checks that flag gradient masking or an unreliable evaluation (AutoAttack's flags and more). Each check
/// yields a warning sentence that says what was seen and what it suggests; none changes the numbers.
/// </summary>
internal static class MaskingChecks
{
    /// <summary>Robust accuracy must not rise with ε: a larger budget cannot help the model unless the attack is failing.</summary>
    public static IEnumerable<string> RisingWithEpsilon(IReadOnlyList<AttackResult> results, double tol)
    {
        var warnings = new List<string>();
        foreach (var group in results.GroupBy(r => r.Name))
        {
            var ordered = group.OrderBy(r => r.Epsilon).ToList();
            for (int i = 1; i < ordered.Count; i++)
                if (ordered[i].RobustAccuracy > ordered[i - 1].RobustAccuracy + tol)
                    warnings.Add($"{group.Key}: robust accuracy rises from {ordered[i - 1].RobustAccuracy:P1} at ε = {ordered[i - 1].Epsilon:0.####} " +
                                 $"to {ordered[i].RobustAccuracy:P1} at ε = {ordered[i].Epsilon:0.####}; a larger budget cannot help the model unless the attack is failing (gradient masking?).");
        }
        return warnings;
    }

    /// <summary>
    /// The probes on the first <see cref="RobustnessOptions.MaskingSubset"/> images (<paramref name="x"/> holds exactly
    /// those rows of the evaluated set, which are their global rows): a randomised forward pass, zero gradients, and
    /// attacks that should be ordered (PGD-10 vs FGSM, PGD-40 vs PGD-10, noise and Square vs the white box, ε = 1).
    /// Their clean verdicts are computed here, so a shard that holds the rows or not probes the same way.
    /// </summary>
    public static IReadOnlyList<string> Probes(IClassifier model, Tensor x, Tensor y, IReadOnlyList<double> epsilons, RobustnessOptions options,
        CancellationToken cancellationToken)
    {
        var warnings = new List<string>();
        double tol = options.MaskingTolerance;
        int m = (int)x.shape[0];
        var xs = x;
        var ys = y;
        var labels = y.data<long>().ToArray();
        var correct = RobustnessEvaluator.Predict(model, xs, options.BatchSize, cancellationToken).Select((p, i) => p == labels[i]).ToArray();
        int correctCount = correct.Count(c => c);
        if (correctCount == 0) return warnings;

        // A randomised forward pass makes gradients and scores unreliable.
        using (var state = model.BeginAttack())
        using (no_grad())
        using (var scope = NewDisposeScope())
        {
            var probe = xs.narrow(0, 0, Math.Min(m, 64)).to(model.Device);
            double diff = model.Logits(probe).sub(model.Logits(probe)).abs().max().item<float>();
            if (diff > 1e-5)
                warnings.Add($"The forward pass is randomised (two passes on the same images differ by up to {diff:G3}); use EOT-style attacks before trusting these numbers.");
        }

        double epsilon = epsilons.Where(e => e > 0).DefaultIfEmpty(0.1).Max();
        double Accuracy(Attack attack) => AccuracyUnder(model, attack, xs, ys, correct, options, cancellationToken);

        if (model.HasGradients)
        {
            // Zero or non-finite input gradients on many correctly classified images.
            double zeroFraction = ZeroGradientFraction(model, xs, ys, correct);
            if (zeroFraction > 0.1)
                warnings.Add($"Input gradients are zero or non-finite on {zeroFraction:P0} of correctly classified images: gradient attacks " +
                             "cannot move them (shattered/masked gradients, e.g. quantizers without a straight-through estimator).");

            var fgsm = Accuracy(new Fgsm(epsilon) { Seed = options.Seed });
            var pgd = Accuracy(new Pgd(epsilon, 10) { Seed = options.Seed });
            var pgdLong = Accuracy(new Pgd(epsilon, 40) { Seed = options.Seed });
            var noise = Accuracy(new RandomNoise(epsilon) { Seed = options.Seed });
            var square = Accuracy(new SquareAttack(epsilon, 300) { Seed = options.Seed });
            var unbounded = Accuracy(new Pgd(1.0, 10) { Seed = options.Seed });
            double whiteBox = new[] { fgsm, pgd, pgdLong }.Min();
            string at = $"at ε = {epsilon:0.####} on {m} images";
            if (pgd > fgsm + tol)
                warnings.Add($"PGD-10 is weaker than FGSM {at} ({pgd:P1} vs {fgsm:P1} robust): iterating should never hurt an attack — gradients look masked or noisy.");
            if (pgdLong > pgd + tol)
                warnings.Add($"PGD-40 is weaker than PGD-10 {at} ({pgdLong:P1} vs {pgd:P1}): more steps should not raise robust accuracy.");
            if (noise < whiteBox - tol)
                warnings.Add($"Random ±ε noise beats every gradient attack {at} ({noise:P1} vs {whiteBox:P1} robust): the gradients do not point uphill (masking).");
            if (square < whiteBox - tol)
                warnings.Add($"The black-box Square attack beats the white-box attacks {at} ({square:P1} vs {whiteBox:P1} robust): white-box robustness is overstated; quote the worst case.");
            if (unbounded > 0.05)
                warnings.Add($"PGD at ε = 1 leaves {unbounded:P1} robust on {m} images (≈ 0 % expected, any image is reachable): the attack is failing.");
        }
        return warnings;
    }

    private static double AccuracyUnder(IClassifier model, Attack attack, Tensor x, Tensor y, bool[] correct, RobustnessOptions options,
        CancellationToken cancellationToken)
    {
        int n = (int)x.shape[0], robust = 0;
        for (int start = 0, batch = 0; start < n; start += options.BatchSize, batch++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            using var scope = NewDisposeScope();
            int count = Math.Min(options.BatchSize, n - start);
            long[] globalRows = Enumerable.Range(start, count).Select(i => (long)i).ToArray(); // the probe subset is the first images
            var adversarial = attack.Perturb(model, x.narrow(0, start, count), y.narrow(0, start, count), null, batch, globalRows, cancellationToken).Adversarial;
            var predicted = RobustnessEvaluator.Predict(model, adversarial, options.BatchSize, cancellationToken);
            var labels = y.narrow(0, start, count).data<long>().ToArray();
            for (int i = 0; i < count; i++) if (correct[start + i] && predicted[i] == labels[i]) robust++;
        }
        return (double)robust / n;
    }

    private static double ZeroGradientFraction(IClassifier model, Tensor x, Tensor y, bool[] correct)
    {
        using var state = model.BeginAttack();
        using var scope = NewDisposeScope();
        using var enabled = enable_grad();
        var input = x.to(model.Device).detach().requires_grad_(true);
        var loss = nn.functional.cross_entropy(model.SurrogateLogits(input), y.to(model.Device), reduction: nn.Reduction.Sum);
        var gradient = autograd.grad(new[] { loss }, new[] { input })[0].flatten(1);
        var finite = gradient.isfinite().all(1);
        var nonzero = gradient.abs().amax(new long[] { 1 }).gt(0);
        var bad = finite.logical_and(nonzero).logical_not().cpu().data<bool>().ToArray();
        int considered = correct.Count(c => c);
        return considered == 0 ? 0 : (double)Enumerable.Range(0, bad.Length).Count(i => correct[i] && bad[i]) / considered;
    }
}
