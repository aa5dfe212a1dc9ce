using Microsoft.ML.Data;

namespace DqMlNet.Samples.ScoringService;

/// <summary>
/// Decodes an image that <see cref="ImageInspector"/> accepted with ML.NET's <see cref="MLImage"/> (SkiaSharp), the
/// decoder the training pipeline's <c>LoadImages</c> uses, so the service sees the same pixels as training did.
/// </summary>
internal static class ImageDecoder
{
    public static MLImage Decode(byte[] bytes, ImageHeader header)
    {
        MLImage image;
        try
        {
            using var stream = new MemoryStream(bytes, writable: false);
            image = MLImage.CreateFromStream(stream);
        }
        catch (Exception ex) when (ex is ArgumentException or InvalidOperationException or IOException or NotSupportedException or NullReferenceException)
        {
            throw new InvalidImageException($"The image could not be decoded ({ex.Message.TrimEnd('.')}); send a valid PNG or JPEG file.");
        }
        if (image.Width != header.Width || image.Height != header.Height)
        {
            int w = image.Width, h = image.Height;
            image.Dispose();
            throw new InvalidImageException(
                $"The image could not be decoded consistently: the {header.Format} header declares {header.Width} × {header.Height} pixels, the decoder produced {w} × {h}.");
        }
        return image;
    }
}
