using DqMlNet.Transforms;
using Microsoft.ML;

namespace DqMlNet.Evaluators;

/// <summary>Finds the DQ stage in a fitted pipeline (nested chains included) and the transforms that run before it.</summary>
internal static class PipelineParts
{
    /// <summary>The stage and, in order, every transform the pipeline applies before it.</summary>
    /// <exception cref="ArgumentException">The model holds no DefensiveQuantize stage.</exception>
    public static (DefensiveQuantizationTransformer Stage, IReadOnlyList<ITransformer> Prefix) Locate(ITransformer model)
    {
        ArgumentNullException.ThrowIfNull(model);
        var prefix = new List<ITransformer>();
        return Find(model, prefix) is { } stage ? (stage, prefix)
            : throw new ArgumentException(
                "The model holds no DefensiveQuantize stage. Pass the fitted pipeline or the stage; a model loaded with plain " +
                "mlContext.Model.Load holds ONNX stand-ins: load it with DqModelFile.Load.", nameof(model));
    }

    /// <summary>The stage, the view that reaches it and the stage's scored output.</summary>
    public static (DefensiveQuantizationTransformer Stage, IDataView Input, IDataView Scored) Split(ITransformer model, IDataView data)
    {
        var (stage, prefix) = Locate(model);
        var input = Apply(prefix, data);
        return (stage, input, stage.Transform(input));
    }

    /// <summary>Runs <paramref name="prefix"/> on <paramref name="data"/>.</summary>
    public static IDataView Apply(IReadOnlyList<ITransformer> prefix, IDataView data) =>
        prefix.Aggregate(data, (view, transform) => transform.Transform(view));

    private static DefensiveQuantizationTransformer? Find(ITransformer model, List<ITransformer> prefix)
    {
        if (model is DefensiveQuantizationTransformer stage) return stage;
        if (model is not IEnumerable<ITransformer> chain) return null;
        foreach (var t in chain)
        {
            int before = prefix.Count;
            if (Find(t, prefix) is { } found) return found;
            // Not in this element: it runs before the stage as a whole.
            prefix.RemoveRange(before, prefix.Count - before);
            prefix.Add(t);
        }
        return null;
    }
}
