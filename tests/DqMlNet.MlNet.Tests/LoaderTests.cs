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

    [Fact]
    public void ImageFolderLoaderRefusesHostileHeadersBeforeAnyDecoderRuns()
    {
        var ml = new MLContext();
        var dir = TestData.TempDirectory();
        try
        {
            foreach (var c in new[] { "a", "b" })
            {
                Directory.CreateDirectory(Path.Combine(dir, c));
                File.Copy(png.Test[0].ImagePath, Path.Combine(dir, c, "ok.png"));
            }
            Assert.Equal(2, ml.Data.LoadImageFolder(dir).GetColumn<string>("Label").Count());

            // 33 bytes that declare a 30,000 × 30,000 PNG: a decoder would allocate 900 MP before reading any pixel.
            var bomb = Path.Combine(dir, "b", "bomb.png");
            var header = new byte[] { 0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52 }
                .Concat(BigEndian(30000)).Concat(BigEndian(30000)).Concat(new byte[] { 1, 0, 0, 0, 0, 0, 0, 0, 0 }).ToArray();
            File.WriteAllBytes(bomb, header);
            var tooLarge = Assert.Throws<InvalidDataException>(() => ml.Data.LoadImageFolder(dir));
            Assert.Contains("bomb.png", tooLarge.Message);
            Assert.Contains("30000 × 30000", tooLarge.Message);
            Assert.Contains("DQMLNET_MAX_IMAGE_PIXELS", tooLarge.Message);
            // 2^32 − 1 on each side: the product does not fit in 64 bits and must not wrap past the check.
            File.WriteAllBytes(bomb, header[..16].Concat(BigEndian(-1)).Concat(BigEndian(-1)).Concat(header[24..]).ToArray());
            Assert.Contains("4294967295 × 4294967295", Assert.Throws<InvalidDataException>(() => ml.Data.LoadImageFolder(dir)).Message);
            File.Delete(bomb);

            // A JPEG whose frame header declares 65,535 × 65,535, behind an APP0 segment the walk must skip.
            var jpeg = Path.Combine(dir, "a", "huge.jpg");
            File.WriteAllBytes(jpeg, new byte[] { 0xFF, 0xD8, 0xFF, 0xE0, 0, 4, 0, 0, 0xFF, 0xC0, 0, 11, 8, 0xFF, 0xFF, 0xFF, 0xFF, 1, 1, 0x11, 0 });
            Assert.Contains("65535 × 65535", Assert.Throws<InvalidDataException>(() => ml.Data.LoadImageFolder(dir)).Message);
            // Cut inside a segment: damaged, naming the file.
            File.WriteAllBytes(jpeg, new byte[] { 0xFF, 0xD8, 0xFF, 0xE0, 0x40, 0x00, 0, 0 });
            var damaged = Assert.Throws<InvalidDataException>(() => ml.Data.LoadImageFolder(dir));
            Assert.Contains("huge.jpg", damaged.Message);
            Assert.Contains("damaged JPEG", damaged.Message);
            // Not an image at all.
            File.WriteAllText(jpeg, "<html>not an image</html>");
            Assert.Contains("is not a PNG, JPEG or BMP", Assert.Throws<InvalidDataException>(() => ml.Data.LoadImageFolder(dir)).Message);
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    private static byte[] BigEndian(int value) => new[] { (byte)(value >> 24), (byte)(value >> 16), (byte)(value >> 8), (byte)value };
}
