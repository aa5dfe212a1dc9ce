using Microsoft.ML.Data;

namespace DqMlNet.Samples.ScoringService;

// Compiled only when the scoring service's sources have no header inspector (ImageHeader.cs): the fuzz target then
// exercises the decoder the service uses (ML.NET's MLImage, SkiaSharp) and the pixel extraction.

/// <summary>An image that cannot be scored (as in the service).</summary>
public sealed class InvalidImageException(string message) : Exception(message);

/// <summary>The service's decode step without a header check.</summary>
internal static class ImageDecoder
{
    public static MLImage Decode(byte[] bytes)
    {
        using var stream = new MemoryStream(bytes, writable: false);
        return MLImage.CreateFromStream(stream);
    }
}
