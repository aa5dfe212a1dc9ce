using DqMlNet.Attacks;
using DqMlNet.Transforms;
using Microsoft.ML;
using DqMlNet.Evaluators;

// Catalog extensions live in Microsoft.ML, as ML.NET's own add-on packages put theirs: `using Microsoft.ML;` is all a
// pipeline needs to find them.
namespace Microsoft.ML;

/// <summary>ML.NET entry points for robustness: <c>EvaluateRobustness</c> and the adversarial attack stage.</summary>
public static class RobustnessCatalog
{
    /// <summary>
    /// Evaluates a fitted pipeline containing a DefensiveQuantize stage: the clean multiclass metrics and a robustness
    /// report (attacks × ε, worst case, error amplification, spectral norms, masking warnings) of the deployed model:
    /// every verdict comes from the stage's ONNX Runtime session, every gradient from the export's differentiable twin
    /// (<see cref="DeployedModel"/>), never from the float training model. The stage holds its export's bytes, so a fitted
    /// stage and the same stage reloaded from its zip give identical numbers.
    /// </summary>
    public static RobustnessMetrics EvaluateRobustness(this MulticlassClassificationCatalog catalog, ITransformer model, IDataView data,
        RobustnessOptions? options = null, string labelColumnName = "Label", IProgress<EvaluationProgress>? progress = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        var ml = Context(catalog);
        var (stage, input, scored) = PipelineParts.Split(model, data);
        var clean = catalog.Evaluate(scored, labelColumnName, stage.Columns.Score, stage.Columns.PredictedLabel);
        var spec = stage.Model.Spec;
        using var dataset = DataViewReader.Read(ml, input, stage.Columns.Features, labelColumnName, spec.Channels, spec.Height, spec.Width, stage.Labels, "evaluation data");
        options ??= new RobustnessOptions();
        var evaluator = new RobustnessEvaluator(options with { ModelDescription = options.ModelDescription ?? RobustnessEvaluator.Describe(spec) });
        using var deployed = DeployedModel.FromStage(stage);
        var report = evaluator.Evaluate(deployed, dataset, progress, cancellationToken);
        return new RobustnessMetrics(clean, report);
    }

    /// <summary>
    /// An attack stage: replaces <paramref name="featureColumnName"/> with adversarial examples crafted by
    /// <paramref name="attack"/> against <paramref name="target"/>, so <c>attackStage.Append(model)</c> followed by
    /// <c>MulticlassClassification.Evaluate</c> gives robust accuracy with the standard metrics object.
    /// </summary>
    public static AdversarialTransformer Adversarial(this TransformsCatalog catalog, DefensiveQuantizationTransformer target, Attack attack,
        string labelColumnName = "Label", string? featureColumnName = null, int batchSize = 256)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        return new AdversarialTransformer(Context(catalog), target, attack, featureColumnName ?? target.Columns.Features, labelColumnName, batchSize);
    }

    // Catalogs keep their environment internal; a private context serves the built-in helpers (pixel extraction).
    private static MLContext Context(object catalog) => new(seed: 0);
}
