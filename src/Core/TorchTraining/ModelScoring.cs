using DqMlNet.Data;
using DqMlNet.Models;
using static TorchSharp.torch;

namespace DqMlNet.TorchTraining;

/// <summary>Batched inference helpers (eval mode, no gradients).</summary>
public static class ModelScoring
{
    /// <summary>Predicted class of every image, in batches.</summary>
    public static long[] Predict(DqModel model, Tensor images, int batchSize = 256)
    {
        model.ValidateInput(images, nameof(images));
        var device = model.parameters().First().device;
        bool wasTraining = model.training;
        model.eval();
        try
        {
            using var noGrad = no_grad();
            var result = new long[images.shape[0]];
            for (long start = 0; start < images.shape[0]; start += batchSize)
            {
                using var scope = NewDisposeScope();
                long n = Math.Min(batchSize, images.shape[0] - start);
                var logits = model.call(images.narrow(0, start, n).to(device));
                logits.argmax(1).cpu().data<long>().CopyTo(result, (int)start);
            }
            return result;
        }
        finally
        {
            model.train(wasTraining);
        }
    }

    /// <summary>Fraction of <paramref name="data"/> classified correctly.</summary>
    public static double Accuracy(DqModel model, ImageDataset data, int batchSize = 256)
    {
        var predicted = Predict(model, data.Images, batchSize);
        var labels = data.Labels.data<long>().ToArray();
        int correct = 0;
        for (int i = 0; i < labels.Length; i++) if (predicted[i] == labels[i]) correct++;
        return (double)correct / labels.Length;
    }
}
