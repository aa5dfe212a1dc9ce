using DqMlNet.Transforms;
using Microsoft.ML;

namespace DqMlNet.Evaluators;

/// <summary>Finds the DQ stage in a fitted pipeline and the view that reaches it.</summary>
internal static class PipelineParts
{
    public static (DefensiveQuantizationTransformer Stage, IDataView Input, IDataView Scored) Split(ITransformer model, IDataView data)
    {
        if (model is DefensiveQuantizationTransformer single) return (single, data, single.Transform(data));
        if (model is not IEnumerable<ITransformer> chain)
            throw new ArgumentException("The model holds no DefensiveQuantize stage; pass the fitted pipeline (or DqModelFile.Load's result).", nameof(model));
        var view = data;
        foreach (var t in chain)
        {
            if (t is DefensiveQuantizationTransformer stage) return (stage, view, stage.Transform(view));
            if (t is IEnumerable<ITransformer>)
            {
                try { return Split(t, view); }
                catch (ArgumentException) { }
            }
            view = t.Transform(view);
        }
        throw new ArgumentException(
            "The model holds no DefensiveQuantize stage. A model loaded with plain mlContext.Model.Load holds ONNX stand-ins: " +
            "load it with DqModelFile.Load to evaluate robustness.", nameof(model));
    }
}
