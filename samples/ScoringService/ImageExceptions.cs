namespace DqMlNet.Samples.ScoringService;

/// <summary>An image that cannot be scored (undecodable, truncated, corrupt, unsupported format, empty): HTTP 400.</summary>
public sealed class InvalidImageException(string message) : Exception(message);

/// <summary>An image whose header declares more pixels than the service accepts: HTTP 413, refused before decoding.</summary>
public sealed class ImageTooLargeException(string format, long width, long height, long maxPixels)
    : Exception($"The {format} image is {width} × {height} = {checked(width * height):N0} pixels; the limit is {maxPixels:N0} pixels " +
                $"(Model:MaxImagePixels). Send a smaller image: it is resized to the model's input size anyway.")
{
    /// <summary>Declared width.</summary>
    public long Width { get; } = width;

    /// <summary>Declared height.</summary>
    public long Height { get; } = height;
}
