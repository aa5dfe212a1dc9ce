using DqMlNet.Data;
using DqMlNet.Trainers;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace DqMlNet.Tests;

public class MlNetBadInputTests
{
    private readonly MLContext ml = new(seed: 0);

    private IDataView Keyed(IEnumerable<PixelRow> rows)
    {
        var view = VectorData.View(ml, rows);
        return ml.Transforms.Conversion.MapValueToKey("Label").Fit(view).Transform(view);
    }

    // What a pipeline passes to GetOutputSchema; SchemaShape.Create is internal to ML.NET.
    private static SchemaShape ShapeOf(DataViewSchema schema) =>
        (SchemaShape)typeof(SchemaShape).GetMethod("Create", System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Static | System.Reflection.BindingFlags.Public)!
            .Invoke(null, new object[] { schema })!;

    private DefensiveQuantizationEstimator Estimator(string features = "Features", string label = "Label") =>
        ml.DefensiveQuantize(new DefensiveQuantizationEstimator.Options
        {
            FeatureColumnName = features, LabelColumnName = label, MaxEpoch = 1, BatchSize = 32, Threads = TestData.Threads,
        });

    [Fact]
    public void SchemaProblemsNameTheColumnAndTheFix()
    {
        var data = Keyed(VectorData.Rows(DatasetSplit.Train, 20));
        var shape = ShapeOf(data.Schema);
        var missing = Assert.Throws<ArgumentException>(() => Estimator(features: "Pixels").GetOutputSchema(shape));
        Assert.Contains("'Pixels' is missing", missing.Message);
        Assert.Contains("FeatureColumnName", missing.Message);

        var raw = VectorData.View(ml, VectorData.Rows(DatasetSplit.Train, 20));
        var notKey = Assert.Throws<ArgumentException>(() => Estimator().GetOutputSchema(ShapeOf(raw.Schema)));
        Assert.Contains("not a key", notKey.Message);
        Assert.Contains("MapValueToKey(\"Label\")", notKey.Message);

        var wrongType = Assert.Throws<ArgumentException>(() => Estimator(features: "Label").GetOutputSchema(shape));
        Assert.Contains("'Label'", wrongType.Message);
        Assert.Contains("Vector<Single>", wrongType.Message);

        var output = Estimator().GetOutputSchema(shape);
        Assert.Contains(output, c => c.Name == "Score" && c.ItemType == NumberDataViewType.Single);
        Assert.Contains(output, c => c.Name == "PredictedLabel" && c.IsKey);
    }

    [Fact]
    public void DataProblemsAreRejectedBeforeTraining()
    {
        var rows = VectorData.Rows(DatasetSplit.Train, 20);
        Assert.Contains("empty", Assert.Throws<ArgumentException>(() => Estimator().Fit(ml.Data.SkipRows(Keyed(rows), 1000))).Message);

        var nan = VectorData.Rows(DatasetSplit.Train, 20);
        nan[5].Features[100] = float.NaN;
        var nanError = Assert.Throws<ArgumentException>(() => Estimator().Fit(Keyed(nan)));
        Assert.Contains("Row 5", nanError.Message);
        Assert.Contains("NaN", nanError.Message);

        var bytes = VectorData.Rows(DatasetSplit.Train, 20);
        bytes[2].Features[10] = 200f;
        var range = Assert.Throws<ArgumentException>(() => Estimator().Fit(Keyed(bytes)));
        Assert.Contains("outside [0, 1]", range.Message);
        Assert.Contains("scaleImage: 1f / 255", range.Message);

        var oneClass = rows.Select(r => new PixelRow { Features = r.Features, Label = "Coat" }).ToList();
        var single = Assert.Throws<ArgumentException>(() => Estimator().Fit(Keyed(oneClass)));
        Assert.Contains("2 classes", single.Message);

        var small = Assert.Throws<ArgumentException>(() => ml.DefensiveQuantize(new DefensiveQuantizationEstimator.Options
        {
            ImageChannels = 1, ImageHeight = 32, ImageWidth = 32, MaxEpoch = 1,
        }).Fit(Keyed(rows)));
        Assert.Contains("1×28×28", small.Message);
        Assert.Contains("1×32×32", small.Message);
    }
}

internal static class ShapeHelper
{
}

internal static class ViewExtensions
{
    public static IDataView Take(this IDataView view, MLContext ml, int count) => ml.Data.TakeRows(view, count);
}
