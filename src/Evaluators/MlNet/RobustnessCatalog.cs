using DqMlNet.Attacks;
using DqMlNet.Transforms;
using Microsoft.ML;
using DqMlNet.Evaluators;

// Catalog extensions live in Microsoft.ML, as ML.NET's own add-on packages put theirs: `using Microsoft.ML;` is all a
// pipeline needs to find them.
namespace Microsoft.ML;

/// <summary>
/// ML.NET entry points for robustness: <c>mlContext.MulticlassClassification.EvaluateRobustness</c> (next to
/// <c>MulticlassClassification.Evaluate</c>) and the attack stage <c>mlContext.Transforms.Adversarial</c>. Both run in the
/// caller's MLContext: its log receives their messages and its seed decides the attacks' randomness unless
/// <see cref="RobustnessOptions.Seed"/> is set.
/// </summary>
public static class RobustnessCatalog
{
    /// <summary>
    /// Evaluates a fitted pipeline containing a DefensiveQuantize stage: the clean multiclass metrics and a robustness
    /// report (attacks × ε, worst case, error amplification, spectral norms, masking warnings) of the deployed model:
    /// every verdict comes from the stage's ONNX Runtime session, every gradient from the export's differentiable twin
    /// (<see cref="DeployedModel"/>), never from the float training model. The stage holds its export's bytes, so a fitted
    /// stage and the same stage reloaded from its zip give identical numbers. Shaped like
    /// <c>MulticlassClassification.Evaluate(data, labelColumnName, …)</c> and permutation feature importance: the model and
    /// data, the column names, then the tuning knobs.
    /// </summary>
    /// <param name="catalog">The multiclass classification catalog of the caller's MLContext.</param>
    /// <param name="model">The fitted pipeline (or the DQ stage itself); the transforms before the stage run on <paramref name="data"/>.</param>
    /// <param name="data">The data the pipeline reads.</param>
    /// <param name="labelColumnName">The key label column, as the pipeline's transforms before the DQ stage produce it.</param>
    /// <param name="options">Attacks, ε, limits; null: <see cref="RobustnessOptions"/>' defaults. An unset seed is drawn from the MLContext.</param>
    /// <param name="progress">Receives a report after every attack batch.</param>
    /// <param name="cancellationToken">Stops between batches with <see cref="OperationCanceledException"/>.</param>
    public static RobustnessMetrics EvaluateRobustness(this MulticlassClassificationCatalog catalog, ITransformer model, IDataView data,
        string labelColumnName = "Label", RobustnessOptions? options = null, IProgress<EvaluationProgress>? progress = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(data);
        var ml = MlNetHost.Of(catalog, "mlContext.MulticlassClassification.EvaluateRobustness");
        var (stage, input, scored) = PipelineParts.Split(model, data);
        var clean = catalog.Evaluate(scored, labelColumnName, stage.Columns.Score, stage.Columns.PredictedLabel);
        var spec = stage.Model.Spec;
        using var dataset = DataViewReader.Read(ml, input, stage.Columns.Features, labelColumnName, spec.Channels, spec.Height, spec.Width, stage.Labels, "evaluation data");
        options ??= new RobustnessOptions();
        // Like ML.NET's own components, an unseeded run takes its seed from the context's random stream.
        if (!options.HasSeed) options = options with { Seed = ml.NextSeed(nameof(EvaluateRobustness)) };
        var evaluator = new RobustnessEvaluator(options with { ModelDescription = options.ModelDescription ?? RobustnessEvaluator.Describe(spec) });
        using var deployed = DeployedModel.FromStage(stage);
        var report = evaluator.Evaluate(deployed, dataset, progress, cancellationToken);
        return new RobustnessMetrics(clean, report);
    }

    /// <summary>
    /// An attack stage, an estimator like any ML.NET transform:
    /// <c>preprocessing.Append(mlContext.Transforms.Adversarial(fittedModel, attack)).Fit(data).Transform(data)</c>
    /// replaces the pixel column the DQ stage of <paramref name="model"/> reads with adversarial examples crafted by
    /// <paramref name="attack"/> against that stage's deployed model. Score the result with the stage
    /// (<see cref="AdversarialTransformer.Target"/>) and <c>MulticlassClassification.Evaluate</c> for robust accuracy in the
    /// standard metrics object.
    /// </summary>
    /// <param name="catalog">The transforms catalog of the caller's MLContext.</param>
    /// <param name="model">A fitted pipeline containing a DefensiveQuantize stage, or the stage itself; the stage is found inside.</param>
    /// <param name="attack">The attack, with its ε and seed.</param>
    /// <param name="labelColumnName">The key label column the attack moves away from.</param>
    /// <param name="batchSize">Images attacked per batch.</param>
    public static AdversarialEstimator Adversarial(this TransformsCatalog catalog, ITransformer model, Attack attack,
        string labelColumnName = "Label", int batchSize = 256)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        return new AdversarialEstimator(MlNetHost.Of(catalog, "mlContext.Transforms.Adversarial"), model, attack, labelColumnName, batchSize);
    }
}
