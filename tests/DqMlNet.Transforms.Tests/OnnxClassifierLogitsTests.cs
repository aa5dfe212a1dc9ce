using DqMlNet.Attacks;
using DqMlNet.Models;
using DqMlNet.Quantization;
using DqMlNet.Transforms.Onnx;
using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using static TorchSharp.torch;

namespace DqMlNet.Transforms.Tests;

/// <summary>OnnxClassifier as the attacks' classifier: the file's logits, and the log-probability fallback's limit.</summary>
[Collection(TrainedModelsCollection.Name)]
public sealed class OnnxClassifierLogitsTests(TrainedModels models)
{
    [Fact]
    public void Logits_are_the_exports_logits_output_bit_for_bit()
    {
        var bytes = OnnxExporter.ToBytes(models.Get("vq4"));
        using var classifier = new OnnxClassifier(bytes);
        Assert.True(classifier.ProvidesLogits);
        Assert.Equal(new long[] { 1, 28, 28 }, classifier.InputShape);
        Assert.Equal(10, classifier.NumClasses);
        Assert.False(classifier.HasGradients);

        using var scope = NewDisposeScope();
        var x = models.Test.Images.narrow(0, 0, 32).contiguous();
        var logits = classifier.Logits(x);
        Assert.Equal(new long[] { 32, 10 }, logits.shape);

        // Read the file's own "logits" output with a plain ONNX Runtime session.
        using var session = new InferenceSession(bytes);
        using var input = OrtValue.CreateTensorValueFromMemory(x.data<float>().ToArray(), new long[] { 32, 1, 28, 28 });
        using var run = new RunOptions();
        using var outputs = session.Run(run, new[] { OnnxMetadataKeys.InputName }, new[] { input }, new[] { OnnxMetadataKeys.LogitsName });
        Assert.Equal(outputs[0].GetTensorDataAsSpan<float>().ToArray(), logits.data<float>().ToArray());
    }

    [Fact]
    public void Square_margins_above_69_survive_on_logits_and_saturate_only_on_probabilities_alone()
    {
        manual_seed(7);
        using var model = ModelFactory.Create(TrainedModels.SpecOf("fp"));
        model.eval();
        // Confident logits: margins in the hundreds, where softmax probabilities round to 1 and to 0.
        using (no_grad()) model.modules().OfType<QuantLinear>().Last().Weight.mul_(1e4f);
        var export = OnnxExporter.ToModelProto(model);
        using var withLogits = new OnnxClassifier(export.ToByteArray());
        using var probabilitiesOnly = new OnnxClassifier(ForeignModels.WithoutLogits(export));
        Assert.True(withLogits.ProvidesLogits);
        Assert.False(probabilitiesOnly.ProvidesLogits);
        Assert.Equal("probabilities", probabilitiesOnly.ScoresOutput);

        using var scope = NewDisposeScope();
        var x = models.Test.Images.narrow(0, 0, 64);
        Tensor torchLogits;
        using (no_grad()) torchLogits = model.call(x);
        var logits = withLogits.Logits(x);
        var predicted = logits.argmax(1);
        // Square's objective for an image classified as c: z_c − max_{j≠c} z_j.
        var margin = AttackLoss.Margin(logits, predicted).neg();
        var torchMargin = AttackLoss.Margin(torchLogits, predicted).neg();
        float largest = margin.max().item<float>();
        Assert.True(largest > 200, $"largest margin {largest}: the fixture should be confident");
        // The file's logits carry the real margins (float export: equal to TorchSharp's up to float rounding).
        Assert.True(margin.sub(torchMargin).abs().le(torchMargin.abs().mul(1e-3f).add(1e-2f)).all().item<bool>());

        var fallback = probabilitiesOnly.Logits(x);
        var fallbackMargin = AttackLoss.Margin(fallback, predicted).neg();
        Assert.Equal(predicted.data<long>().ToArray(), fallback.argmax(1).data<long>().ToArray());
        float cap = -MathF.Log(OnnxClassifier.ProbabilityFloor); // ln 10^30 ≈ 69.08
        Assert.True(fallbackMargin.max().item<float>() <= cap + 1e-3f);
        long saturated = margin.gt(cap + 1).sum().item<long>();
        Assert.True(saturated > 0, "some margins must exceed the fallback's cap");
        Console.WriteLine($"margins: largest {largest:F1} on logits, {fallbackMargin.max().item<float>():F2} on log-probabilities; {saturated}/64 above the cap");
    }

    [Fact]
    public void Square_runs_on_a_foreign_file_and_gradient_attacks_are_refused()
    {
        var export = OnnxExporter.ToModelProto(models.Get("vq4"));
        using var foreign = new OnnxClassifier(ForeignModels.WithoutLogits(export));
        Assert.Empty(foreign.Metadata);
        using var scope = NewDisposeScope();
        var x = models.Test.Images.narrow(0, 0, 64);
        var y = models.Test.Labels.narrow(0, 0, 64);
        long Correct(Tensor images) => foreign.Logits(images).argmax(1).eq(y).sum().item<long>();

        long clean = Correct(x);
        var adversarial = new SquareAttack(0.2, queries: 100) { Seed = 1 }.Generate(foreign, x, y);
        long robust = Correct(adversarial);
        Assert.True(adversarial.sub(x).abs().max().item<float>() <= 0.2f + 1e-6f);
        Assert.True(robust < clean - 10, $"Square left {robust}/64 correct of {clean} on the foreign file");
        var refused = Assert.Throws<InvalidOperationException>(() => new Pgd(0.1, 5).Generate(foreign, x, y));
        Assert.Contains("black box", refused.Message);
    }
}
