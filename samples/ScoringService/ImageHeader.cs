namespace DqMlNet.Samples.ScoringService;

/// <summary>What an image file declares about itself, read without decoding any pixel.</summary>
/// <param name="Format">"PNG" or "JPEG".</param>
/// <param name="Width">Width in pixels (≥ 1).</param>
/// <param name="Height">Height in pixels (≥ 1).</param>
public readonly record struct ImageHeader(string Format, int Width, int Height)
{
    /// <summary>Width × height.</summary>
    public long Pixels => (long)Width * Height;
}

/// <summary>
/// The checks an uploaded image passes before the decoder sees it: a known format, a header whose dimensions are within
/// the pixel cap (so a 100 KB file declaring 30,000 × 30,000 pixels is refused in microseconds, before gigabytes are
/// allocated), then the whole file's structure, so that a truncated or corrupt file is refused instead of being decoded
/// into a partly grey image and scored.
/// </summary>
public static class ImageInspector
{
    /// <summary>
    /// Reads and checks <paramref name="bytes"/>. Throws <see cref="ImageTooLargeException"/> when the declared size exceeds
    /// <paramref name="maxPixels"/> and <see cref="InvalidImageException"/> when the file is not a complete PNG or JPEG.
    /// </summary>
    public static ImageHeader Inspect(byte[] bytes, long maxPixels)
    {
        ArgumentNullException.ThrowIfNull(bytes);
        if (PngInspector.IsPng(bytes))
        {
            var png = PngInspector.ReadHeader(bytes);
            CheckCap(png.Header, maxPixels);
            PngInspector.VerifyComplete(bytes, png);
            return png.Header;
        }
        if (JpegInspector.IsJpeg(bytes))
        {
            var header = JpegInspector.ReadHeader(bytes);
            CheckCap(header, maxPixels);
            JpegInspector.VerifyComplete(bytes);
            return header;
        }
        throw new InvalidImageException("Unsupported or unrecognised image format: send a PNG or JPEG image.");
    }

    private static void CheckCap(ImageHeader header, long maxPixels)
    {
        if (header.Pixels > maxPixels) throw new ImageTooLargeException(header.Format, header.Width, header.Height, maxPixels);
    }

    /// <summary>The message of every structurally broken image: what is wrong and what to send instead.</summary>
    internal static InvalidImageException Corrupt(string format, string problem) =>
        new($"The image could not be decoded: {problem}. The {format} file is truncated or corrupt; send a complete, valid PNG or JPEG file.");
}
