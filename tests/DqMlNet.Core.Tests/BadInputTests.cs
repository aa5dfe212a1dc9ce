using DqMlNet.Data;
using DqMlNet.Models;
using DqMlNet.TorchTraining;
using static TorchSharp.torch;

namespace DqMlNet.Tests;

public class BadInputTests
{
    private static readonly string[] Classes = FashionMnist.ClassNames.ToArray();

    [Fact]
    public void WrongTensorShapeNamesExpectedShapeAndFix()
    {
        using var scope = NewDisposeScope();
        manual_seed(0);
        var model = ModelFactory.Create(TestData.SmallCnn(TrainingMode.Vanilla));
        var ex = Assert.Throws<ArgumentException>(() => model.ValidateInput(zeros(4, 784)));
        Assert.Contains("[4, 784]", ex.Message);
        Assert.Contains("[N, 1, 28, 28]", ex.Message);
        Assert.Contains("reshape", ex.Message);
        Assert.Throws<ArgumentException>(() => ModelScoring.Predict(model, zeros(2, 3, 28, 28)));

        var flat = Assert.Throws<ArgumentException>(() => ImageDataset.FromTensors(zeros(4, 784), zeros(4, ScalarType.Int64), Classes));
        Assert.Contains("[N, C, H, W]", flat.Message);

        using var rgb = ImageDataset.FromTensors(zeros(8, 3, 32, 32), zeros(8, ScalarType.Int64), Classes);
        var mismatch = Assert.Throws<ArgumentException>(() =>
            new DqTrainer(TestData.SmallCnn(TrainingMode.FullPrecision)).Fit(rgb));
        Assert.Contains("3×32×32", mismatch.Message);
        Assert.Contains("1×28×28", mismatch.Message);
    }

    [Fact]
    public void NanPixelsAreRejectedWithTheImageIndex()
    {
        var images = rand(6, 1, 28, 28);
        images[4, 0, 3, 3] = tensor(float.NaN);
        var ex = Assert.Throws<ArgumentException>(() => ImageDataset.FromTensors(images, zeros(6, ScalarType.Int64), Classes));
        Assert.Contains("NaN", ex.Message);
        Assert.Contains("image 4", ex.Message);
        Assert.Contains("Clean or drop", ex.Message);
    }

    [Fact]
    public void PixelsOutsideUnitRangeSuggestDividingBy255()
    {
        var ex = Assert.Throws<ArgumentException>(() =>
            ImageDataset.FromTensors(rand(3, 1, 28, 28).mul(255), zeros(3, ScalarType.Int64), Classes));
        Assert.Contains("[0, 1]", ex.Message);
        Assert.Contains("divide by 255", ex.Message);
    }

    [Fact]
    public void LabelsBeyondClassCountAreRejected()
    {
        var ex = Assert.Throws<ArgumentException>(() =>
            ImageDataset.FromTensors(rand(3, 1, 28, 28), tensor(new long[] { 0, 12, 3 }), Classes));
        Assert.Contains("Label 12", ex.Message);
        Assert.Contains("image 1", ex.Message);
        Assert.Contains("10 classes", ex.Message);
        Assert.Throws<ArgumentException>(() => ImageDataset.FromBytes(new byte[784], new byte[] { 10 }, 1, 28, 28, Classes));

        using var three = ImageDataset.FromTensors(rand(3, 1, 28, 28), tensor(new long[] { 0, 1, 2 }), new[] { "a", "b", "c" });
        var classes = Assert.Throws<ArgumentException>(() => new DqTrainer(TestData.SmallCnn(TrainingMode.FullPrecision)).Fit(three));
        Assert.Contains("3 classes", classes.Message);
        Assert.Contains("NumClasses", classes.Message);
    }

    [Fact]
    public void CorruptIdxHeaderNamesTheFileAndTheFix()
    {
        var dir = TestData.TempDirectory();
        try
        {
            var good = Path.Combine(dir, "good-images-idx3-ubyte");
            IdxFile.WriteImages(good, new byte[2 * 4 * 4], 2, 4, 4);

            var bytes = File.ReadAllBytes(good);
            var badMagic = Path.Combine(dir, "bad-magic");
            var b1 = (byte[])bytes.Clone();
            b1[2] = 0x0D; // float instead of unsigned byte
            File.WriteAllBytes(badMagic, b1);
            var ex = Assert.Throws<InvalidDataException>(() => IdxFile.ReadImages(badMagic));
            Assert.Contains("bad-magic", ex.Message);
            Assert.Contains("element type 0x0d", ex.Message);
            Assert.Contains("delete it", ex.Message);

            var truncated = Path.Combine(dir, "truncated");
            File.WriteAllBytes(truncated, bytes.AsSpan(0, bytes.Length - 5).ToArray());
            var ex2 = Assert.Throws<InvalidDataException>(() => IdxFile.ReadImages(truncated));
            Assert.Contains("32 bytes of data but the file holds 27", ex2.Message);

            var labelsAsImages = Path.Combine(dir, "labels");
            IdxFile.WriteLabels(labelsAsImages, new byte[] { 1, 2 });
            Assert.Contains("1 dimensions instead of 3", Assert.Throws<InvalidDataException>(() => IdxFile.ReadImages(labelsAsImages)).Message);

            var brokenGz = Path.Combine(dir, "broken.gz");
            File.WriteAllBytes(brokenGz, new byte[] { 0x1f, 0x8b, 8, 0, 1, 2, 3 });
            var gzError = Assert.Throws<InvalidDataException>(() => IdxFile.ReadLabels(brokenGz)).Message;
            Assert.Contains("broken.gz", gzError);
            Assert.Contains("delete it", gzError);

            Assert.Throws<FileNotFoundException>(() => IdxFile.ReadLabels(Path.Combine(dir, "missing")));
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [Fact]
    public void InvalidOptionsAndSpecsAreRejected()
    {
        Assert.Contains("Epochs", Assert.Throws<ArgumentOutOfRangeException>(() => new DqTrainer(TestData.SmallCnn(TrainingMode.Vanilla), new DqTrainerOptions { Epochs = 0 })).Message);
        var beta = Assert.Throws<ArgumentException>(() => new DqTrainer(TestData.SmallCnn(TrainingMode.Vanilla), new DqTrainerOptions { Beta = 1e-3 }));
        Assert.Contains("TrainingMode.Defensive", beta.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => TestData.SmallCnn(TrainingMode.Vanilla, bits: 0).Validate());
        var norm = Assert.Throws<ArgumentException>(() => (TestData.SmallCnn(TrainingMode.Vanilla) with { Channels = 3 }).Validate());
        Assert.Contains("one mean and one std per input channel", norm.Message);
        var device = Assert.Throws<ArgumentException>(() => Runtime.TorchRuntime.ParseDevice("cuda"));
        Assert.Contains("CUDA is not available", device.Message);
    }
}
