using DqMlNet.Attacks;
using DqMlNet.Models;
using static TorchSharp.torch;

namespace DqMlNet.Evaluators;

/// <summary>
/// Per-layer error amplification (the paper's measure): d_l = ‖a_l(x) − a_l(x')‖₂ / ‖a_l(x)‖₂ for every activation layer l,
/// averaged over images, with x' the FGSM example at ε. Vanilla quantization makes d_l grow with depth; DQ keeps it
/// small.
/// </summary>
public static class ErrorAmplification
{
    /// <summary>Measures d_l on <paramref name="images"/> (all of them, in batches).</summary>
    public static IReadOnlyList<LayerResult> Measure(DqModel model, Tensor images, Tensor labels, double epsilon, int batchSize = 256, long seed = 0)
    {
        var names = model.named_modules().Where(m => m.module is ActivationLayer).Select(m => m.name).ToList();
        var sums = new double[names.Count];
        var counts = new long[names.Count];
        var classifier = new TorchClassifier(model);
        var fgsm = new Fgsm(epsilon) { Seed = seed };
        long n = images.shape[0];
        for (long start = 0, batch = 0; start < n; start += batchSize, batch++)
        {
            using var scope = NewDisposeScope();
            long count = Math.Min(batchSize, n - start);
            var x = images.narrow(0, start, count).to(classifier.Device);
            var y = labels.narrow(0, start, count).to(classifier.Device);
            var adversarial = fgsm.Perturb(classifier, x, y, null, (int)batch).Adversarial;
            using var state = classifier.BeginAttack();
            using var noGrad = no_grad();
            var clean = model.ForwardWithActivations(x).Activations;
            var perturbed = model.ForwardWithActivations(adversarial).Activations;
            if (clean.Count != names.Count)
                throw new InvalidOperationException($"The model recorded {clean.Count} activations but has {names.Count} activation layers.");
            for (int l = 0; l < names.Count; l++)
            {
                var reference = clean[l].flatten(1).norm(1);
                var difference = clean[l].sub(perturbed[l]).flatten(1).norm(1);
                var valid = reference.gt(0);
                // Images whose clean activation is all zero have no defined ratio; they are left out of the mean.
                var ratios = difference.masked_select(valid).div(reference.masked_select(valid)).to_type(ScalarType.Float64);
                sums[l] += ratios.sum().item<double>();
                counts[l] += ratios.numel();
            }
        }
        return names.Select((name, l) => new LayerResult(l + 1, name, counts[l] == 0 ? 0 : sums[l] / counts[l])).ToList();
    }
}
