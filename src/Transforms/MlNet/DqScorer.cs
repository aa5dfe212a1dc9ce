using DqMlNet.Models;
using DqMlNet.Transforms.Onnx;

namespace DqMlNet.Transforms;

/// <summary>
/// Scores flat C·H·W pixel rows in batches with ONNX Runtime on the model's own export (QDQ integer kernels for VQ/DQ),
/// so the fitted stage scores exactly as the saved and reloaded model does and as a deployed ONNX file would. The
/// TorchSharp model stays available for attacks and fine-tuning. <see cref="OnnxClassifier"/> is thread-safe.
/// </summary>
internal sealed class DqScorer : IDisposable
{
    public DqScorer(DqModel model, byte[] onnx)
    {
        Onnx = onnx;
        Classifier = new OnnxClassifier(onnx);
        PixelsPerImage = checked(model.Spec.Channels * model.Spec.Height * model.Spec.Width);
    }

    /// <summary>The exported model (standard DqMlNet export: input [N, C, H, W], output probabilities).</summary>
    public byte[] Onnx { get; }

    public OnnxClassifier Classifier { get; }

    public int PixelsPerImage { get; }

    /// <summary>Class probabilities [count × classes] for <paramref name="count"/> rows of pixels.</summary>
    public float[] Score(float[] pixels, int count, string column, long firstRow)
    {
        Validate(pixels, count, column, firstRow);
        return Classifier.Predict(pixels, count).Probabilities;
    }

    private void Validate(float[] pixels, int count, string column, long firstRow)
    {
        int n = count * PixelsPerImage;
        for (int i = 0; i < n; i++)
        {
            float v = pixels[i];
            if (v >= 0f && v <= 1f) continue;
            long row = firstRow + i / PixelsPerImage;
            throw new InvalidOperationException(float.IsNaN(v)
                ? $"Column '{column}' holds NaN at row {row}. Clean or drop such rows before scoring."
                : $"Column '{column}' holds pixel value {v} at row {row}, outside [0, 1]. Scale pixels to [0, 1] " +
                  "(e.g. ExtractPixels(scaleImage: 1f / 255)); normalisation is part of the model.");
        }
    }

    public void Dispose() => Classifier.Dispose();
}
