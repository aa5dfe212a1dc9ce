using DqMlNet.Data;
using Microsoft.ML.Data;

namespace DqMlNet.Tests;

/// <summary>Fixture images written as real PNG files in class folders, as a .NET team's image data would look.</summary>
public sealed class PngFixture : IDisposable
{
    public PngFixture()
    {
        Directory = TestData.TempDirectory();
        Train = Write(DatasetSplit.Train, 600);
        Test = Write(DatasetSplit.Test, 200);
    }

    public string Directory { get; }

    public IReadOnlyList<ImageRow> Train { get; }

    public IReadOnlyList<ImageRow> Test { get; }

    private IReadOnlyList<ImageRow> Write(DatasetSplit split, int count)
    {
        using var data = TestData.Load(split, count);
        var rows = new List<ImageRow>();
        var pixels = data.Images.mul(255).round().to_type(TorchSharp.torch.ScalarType.Byte).data<byte>().ToArray();
        var labels = data.Labels.data<long>().ToArray();
        for (int i = 0; i < count; i++)
        {
            string label = FashionMnist.ClassNames[(int)labels[i]].Replace('/', '-');
            var folder = System.IO.Directory.CreateDirectory(Path.Combine(Directory, split.ToString(), label)).FullName;
            var path = Path.Combine(folder, $"{i:D4}.png");
            GreyPng.Save(pixels.AsSpan(i * 784, 784), path);
            rows.Add(new ImageRow { ImagePath = path, Label = label });
        }
        return rows;
    }

    public void Dispose() => System.IO.Directory.Delete(Directory, true);
}

public sealed class ImageRow
{
    public string ImagePath { get; set; } = "";
    public string Label { get; set; } = "";
}
