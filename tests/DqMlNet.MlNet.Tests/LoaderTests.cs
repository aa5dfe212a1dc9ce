using DqMlNet.Data;
using DqMlNet.Trainers;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace DqMlNet.Tests;

public class LoaderTests(PngFixture png) : IClassFixture<PngFixture>
{
    [Fact]
    public void FashionMnistLoaderGivesPixelsAndLabels()
    {
        var ml = new MLContext();
        var view = ml.Data.LoadFashionMnist(DatasetSplit.Test, TestData.FixtureDirectory, limit: 50);
        Assert.Equal(new VectorDataViewType(NumberDataViewType.Single, 1, 28, 28), view.Schema["Features"].Type); // the shape DefensiveQuantize reads
        var labels = view.GetColumn<string>("Label").ToList();
        Assert.Equal(50, labels.Count);
        Assert.All(labels, l => Assert.Contains(l, FashionMnist.ClassNames));
        var pixels = view.GetColumn<float[]>("Features").First();
        Assert.All(pixels, p => Assert.InRange(p, 0f, 1f));
        using var reference = TestData.Load(DatasetSplit.Test, 1);
        Assert.Equal(reference.Images.data<float>().ToArray(), pixels);
    }

    [Fact]
    public void ImageFolderLoaderListsClassFoldersAndExplainsMistakes()
    {
        var ml = new MLContext();
        var view = ml.Data.LoadImageFolder(Path.Combine(png.Directory, "Test"));
        var rows = view.GetColumn<string>("Label").ToList();
        Assert.Equal(png.Test.Count, rows.Count);
        Assert.Equal(png.Test.Select(r => r.Label).Distinct().Order(), rows.Distinct().Order());
        Assert.Contains("does not exist", Assert.Throws<DirectoryNotFoundException>(() => ml.Data.LoadImageFolder(Path.Combine(png.Directory, "nope"))).Message);
        var one = Path.Combine(png.Directory, "Test", "Coat");
        Assert.Contains("at least two", Assert.Throws<InvalidDataException>(() => ml.Data.LoadImageFolder(one)).Message);
    }
}
