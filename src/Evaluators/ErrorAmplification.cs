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
    public static IReadOnlyList<LayerResult> Measure(DqModel model, Tensor images, Tensor labels, double epsilon, int batchSize = 256, long seed = 0) =>
        Average(PerImage(model, images, labels, epsilon, batchSize, seed));

    /// <summary>
    /// Each layer's d_l averaged over the images that have one, summed in row order (so one process and merged shards
    /// give the same mean).
    /// </summary>
    internal static IReadOnlyList<LayerResult> Average(IReadOnlyList<ImageLayerResults> perImage) =>
        perImage.Select((layer, l) =>
        {
            double sum = 0;
            long count = 0;
            foreach (var ratio in layer.Ratios)
                if (ratio is double r) { sum += r; count++; }
            return new LayerResult(l + 1, layer.Layer, count == 0 ? 0 : sum / count);
        }).ToList();

    /// <summary>
    /// Each image's d_l per layer, in row order: FGSM has no randomness and each ratio involves only its own image, so the
    /// values do not depend on which images share a batch (or a shard). Null where the clean activation is all zero.
    /// </summary>
    internal static IReadOnlyList<ImageLayerResults> PerImage(DqModel model, Tensor images, Tensor labels, double epsilon, int batchSize, long seed)
    {
        var names = model.named_modules().Where(m => m.module is ActivationLayer).Select(m => m.name).ToList();
        long n = images.shape[0];
        var ratios = names.Select(_ => new double?[n]).ToArray();
        var classifier = new TorchClassifier(model);
        var fgsm = new Fgsm(epsilon) { Seed = seed };
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
                var ratio = difference.div(reference).to_type(ScalarType.Float64).cpu().data<double>().ToArray();
                var valid = reference.gt(0).cpu().data<bool>().ToArray();
                // Images whose clean activation is all zero have no defined ratio; they are left out of the mean.
                for (int i = 0; i < count; i++) ratios[l][start + i] = valid[i] ? ratio[i] : null;
            }
        }
        return names.Select((name, l) => new ImageLayerResults { Layer = name, Ratios = ratios[l] }).ToList();
    }
}
