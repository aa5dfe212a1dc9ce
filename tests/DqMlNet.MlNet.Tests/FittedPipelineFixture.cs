using DqMlNet.Data;
using DqMlNet.Models;
using DqMlNet.Trainers;
using DqMlNet.Transforms;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace DqMlNet.Tests;

/// <summary>One fitted pixel pipeline (MapValueToKey → DQ-4 SmallCnn, one epoch) shared by the ML.NET-shape tests.</summary>
public sealed class FittedPipelineFixture : IDisposable
{
    public FittedPipelineFixture()
    {
        var ml = new MLContext(seed: 0);
        Train = VectorData.Rows(DatasetSplit.Train, 600);
        Test = VectorData.Rows(DatasetSplit.Test, 120);
        Model = ml.Transforms.Conversion.MapValueToKey("Label")
            .Append(ml.DefensiveQuantize(new DefensiveQuantizationEstimator.Options
            {
                Mode = TrainingMode.Defensive, ActivationBits = 4, Beta = 2e-3, MaxEpoch = 1, BatchSize = 64, Seed = 3, Threads = TestData.Threads,
            }))
            .Fit(VectorData.View(ml, Train));
        Stage = Model.LastTransformer;
    }

    /// <summary>Training rows (text labels, 1×28×28 pixels).</summary>
    public List<PixelRow> Train { get; }

    /// <summary>Test rows (text labels, 1×28×28 pixels).</summary>
    public List<PixelRow> Test { get; }

    /// <summary>The fitted pipeline: the key mapping, then the DQ stage.</summary>
    public TransformerChain<DefensiveQuantizationTransformer> Model { get; }

    /// <summary>The DQ stage of <see cref="Model"/>.</summary>
    public DefensiveQuantizationTransformer Stage { get; }

    public void Dispose() => Stage.Dispose();
}
