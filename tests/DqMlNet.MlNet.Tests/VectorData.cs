using DqMlNet.Data;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace DqMlNet.Tests;

/// <summary>The fixture as ML.NET rows: 1×28×28 pixels in [0, 1] (dimensions recorded, as ExtractPixels does) and a text label.</summary>
public sealed class PixelRow
{
    [VectorType(1, 28, 28)]
    public float[] Features { get; set; } = Array.Empty<float>();

    public string Label { get; set; } = "";
}

internal static class VectorData
{
    public static List<PixelRow> Rows(DatasetSplit split, int count)
    {
        using var data = TestData.Load(split, count);
        var pixels = data.Images.data<float>().ToArray();
        var labels = data.Labels.data<long>().ToArray();
        return Enumerable.Range(0, count)
            .Select(i => new PixelRow { Features = pixels.AsSpan(i * 784, 784).ToArray(), Label = FashionMnist.ClassNames[(int)labels[i]] })
            .ToList();
    }

    public static IDataView View(MLContext ml, IEnumerable<PixelRow> rows) => ml.Data.LoadFromEnumerable(rows);
}
