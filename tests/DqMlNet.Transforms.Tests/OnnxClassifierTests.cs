using DqMlNet.Attacks;
using DqMlNet.Transforms.Onnx;
using static TorchSharp.torch;

namespace DqMlNet.Transforms.Tests;

/// <summary>OnnxClassifier on foreign models, its input forms, and concurrent use.</summary>
[Collection(TrainedModelsCollection.Name)]
public sealed class OnnxClassifierTests(TrainedModels models)
{
    [Fact]
    public void Scores_a_foreign_logits_model()
    {
        using var classifier = new OnnxClassifier(ForeignModels.TinyClassifier());
        Assert.Equal("x", classifier.InputName);
        Assert.Equal("y", classifier.ScoresOutput);
        Assert.Equal(5, classifier.NumClasses);
        Assert.Equal(new long[] { -1, 3, 4, 4 }, classifier.InputDimensions);

        manual_seed(3);
        using var batch = rand(7, 3, 4, 4);
        var p = classifier.Predict(batch);
        using var expectedLogits = batch.mean(new long[] { 2, 3 }).matmul(tensor(ForeignModels.Weights).reshape(3, 5));
        var expected = nn.functional.softmax(expectedLogits, 1).data<float>().ToArray();
        Assert.Equal(expectedLogits.data<float>().ToArray(), p.Logits!, (x, y) => Math.Abs(x - y) < 1e-5);
        Assert.Equal(expected, p.Probabilities, (x, y) => Math.Abs(x - y) < 1e-5);
        Assert.Equal(expectedLogits.argmax(1).data<long>().ToArray().Select(l => (int)l), p.Labels);

        // As a classifier for attacks: the file's logits, CPU, score-only.
        IClassifier attacked = classifier;
        Assert.Equal(new long[] { 3, 4, 4 }, attacked.InputShape);
        Assert.False(attacked.HasGradients);
        Assert.True(classifier.ProvidesLogits);
        Assert.Equal(p.Logits, attacked.Logits(batch).data<float>().ToArray());
        Assert.Throws<NotSupportedException>(() => attacked.SurrogateLogits(batch));
        Assert.Empty(classifier.Predict(zeros(0, 3, 4, 4)).Labels);
        Assert.Throws<ArgumentException>(() => classifier.Predict(zeros(2, 1, 4, 4)));
    }

    [Fact]
    public void Array_and_tensor_inputs_agree_and_predict_is_thread_safe()
    {
        var bytes = OnnxExporter.ToBytes(models.Get("vq4"));
        using var classifier = new OnnxClassifier(bytes);
        Assert.Equal("probabilities", classifier.ScoresOutput);
        Assert.Equal("Vanilla", classifier.Metadata[OnnxMetadataKeys.Mode]);

        var images = models.Test.Images;
        var pixels = images.narrow(0, 0, 64).contiguous().data<float>().ToArray();
        var fromArray = classifier.Predict(pixels, 64);
        var fromTensor = classifier.Predict(images.narrow(0, 0, 64));
        Assert.Equal(fromArray.Probabilities, fromTensor.Probabilities);
        Assert.NotNull(fromArray.Logits);

        var sequential = classifier.PredictLabels(images, batchSize: 100);
        var parallel = new int[sequential.Length];
        Parallel.For(0, 10, new ParallelOptions { MaxDegreeOfParallelism = 4 }, b =>
        {
            var slice = new float[100 * 784];
            Array.Copy(images.data<float>().ToArray(), b * 100 * 784, slice, 0, slice.Length);
            classifier.Predict(slice, 100).Labels.CopyTo(parallel, b * 100);
        });
        Assert.Equal(sequential, parallel);
    }

    [Fact]
    public void Bad_inputs_fail_clearly()
    {
        Assert.Throws<FileNotFoundException>(() => new OnnxClassifier(Path.Combine(models.Directory, "missing.onnx")));
        Assert.Throws<InvalidDataException>(() => new OnnxClassifier(new byte[] { 1, 2, 3 }));
        using var classifier = new OnnxClassifier(ForeignModels.TinyClassifier());
        Assert.Throws<ArgumentException>(() => classifier.Predict(new float[10], 1));
    }
}
