namespace DqMlNet.Transforms;

/// <summary>
/// Scoring without a data view, for servers that already hold images as the model's pixels: the same ONNX Runtime
/// session and therefore the same numbers as the <c>Score</c> column of <see cref="DefensiveQuantizationTransformer.Transform"/>, without
/// building an <c>IDataView</c>, a cursor or a 256-row buffer per request.
/// </summary>
public static class DqPixelScoring
{
    /// <summary>
    /// Class probabilities, row-major [<paramref name="count"/> × classes], of <paramref name="count"/> images stored as
    /// flat C·H·W pixels in [0, 1] (channel-major, as <c>ExtractPixels(scaleImage: 1f / 255)</c> writes them) at the start
    /// of <paramref name="pixels"/>. Safe to call from several threads at once.
    /// </summary>
    public static float[] ScorePixels(this DefensiveQuantizationTransformer stage, float[] pixels, int count)
    {
        ArgumentNullException.ThrowIfNull(stage);
        ArgumentNullException.ThrowIfNull(pixels);
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        long needed = checked((long)count * stage.Scorer.PixelsPerImage);
        if (pixels.Length < needed)
            throw new ArgumentException($"{count} image(s) of {stage.Scorer.PixelsPerImage} pixels need {needed} floats; got {pixels.Length}.", nameof(pixels));
        return stage.Scorer.Score(pixels, count, stage.Columns.Features, firstRow: 1);
    }
}
