namespace DqMlNet.Samples.ScoringService;

/// <summary>
/// One image's way through the service, with no data view: header checks and the pixel cap
/// (<see cref="ImageInspector"/>) → decode (<see cref="ImageDecoder"/>) → resize and pixels (<see cref="ImagePixels"/>)
/// → the micro-batched model call (<see cref="ScoringBatcher"/>). POST /predict and the readiness probe both use it.
/// </summary>
public sealed class PredictionPipeline(ScoringModel model, ScoringBatcher batcher, ImageLimitOptions limits)
{
    /// <summary>The served model.</summary>
    public ScoringModel Model => model;

    /// <summary>Announces an image that is about to be read, so that a forming batch may wait for it.</summary>
    public ScoringBatcher.Reservation Reserve() => batcher.Reserve();

    /// <summary>
    /// Scores one PNG or JPEG. Throws <see cref="InvalidImageException"/> (400) and <see cref="ImageTooLargeException"/>
    /// (413) for bad input; <paramref name="reservation"/> (from <see cref="Reserve"/>) is consumed.
    /// </summary>
    public async Task<Prediction> PredictAsync(byte[] bytes, ScoringBatcher.Reservation reservation, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(bytes);
        ArgumentNullException.ThrowIfNull(reservation);
        using (reservation)
        {
            if (bytes.Length == 0)
                throw new InvalidImageException(
                    "No image: send a PNG or JPEG as the request body (Content-Type image/png or image/jpeg) or as multipart/form-data field 'file'.");
            var header = ImageInspector.Inspect(bytes, limits.MaxImagePixels);
            cancellationToken.ThrowIfCancellationRequested();
            float[] pixels;
            using (var image = ImageDecoder.Decode(bytes, header))
                pixels = ImagePixels.Extract(image, model.Channels, model.Height, model.Width);
            cancellationToken.ThrowIfCancellationRequested();
            var probabilities = await reservation.ScoreAsync(pixels, cancellationToken).ConfigureAwait(false);
            return model.ToPrediction(probabilities);
        }
    }

    /// <summary>Scores one PNG or JPEG (see the overload taking a reservation).</summary>
    public Task<Prediction> PredictAsync(byte[] bytes, CancellationToken cancellationToken) => PredictAsync(bytes, Reserve(), cancellationToken);
}
