using Microsoft.ML.Data;

namespace DqMlNet.Samples.ScoringService;

/// <summary>
/// Converts a decoded image to a model's input: C×H×W floats in [0, 1], channel-major — what
/// <c>ResizeImages(IsoCrop)</c> + <c>ExtractPixels(scaleImage: 1f / 255)</c> produce in training pipelines. Grey (one
/// channel) models read the red channel, like <c>ExtractPixels(ColorBits.Red)</c>; RGB models read R, G, B planes.
/// Images of the model's size are copied exactly; others are scaled preserving the aspect ratio and centre-cropped,
/// with 4×4 supersampled bilinear filtering.
/// </summary>
public static class ImagePixels
{
    private const float Scale = 1f / 255;

    /// <summary>The model input for <paramref name="image"/>.</summary>
    public static float[] Extract(MLImage image, int channels, int height, int width)
    {
        ArgumentNullException.ThrowIfNull(image);
        if (channels is not (1 or 3)) throw new NotSupportedException($"Models with {channels} input channels are not supported (1 or 3).");
        ArgumentOutOfRangeException.ThrowIfLessThan(height, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(width, 1);
        var src = image.Pixels;
        int sw = image.Width, sh = image.Height;
        if (sw < 1 || sh < 1) throw new InvalidImageException("The image has no pixels.");
        int bpp = image.BitsPerPixel / 8;
        // Sizes in checked long: a decoded image may be large, and an int product would wrap past 2^31 bytes.
        if (bpp != 4 || src.Length < checked((long)sw * sh * 4))
            throw new InvalidImageException($"Unsupported decoded pixel layout ({image.PixelFormat}, {image.BitsPerPixel} bits per pixel).");
        int plane = checked(width * height);
        bool bgra = image.PixelFormat == MLPixelFormat.Bgra32;
        int r = bgra ? 2 : 0, g = 1, b = bgra ? 0 : 2;
        var offsets = channels == 1 ? new[] { r } : new[] { r, g, b };
        var output = new float[checked(channels * plane)];

        if (sw == width && sh == height)
        {
            for (int c = 0; c < channels; c++)
            for (int p = 0; p < plane; p++)
                output[c * plane + p] = src[p * 4 + offsets[c]] * Scale; // as ExtractPixels: value × (1f / 255)
            return output;
        }

        // Iso-crop: scale so the image covers H×W, then take the centre.
        double scale = Math.Max((double)width / sw, (double)height / sh);
        double cropW = width / scale, cropH = height / scale;
        double left = (sw - cropW) / 2, top = (sh - cropH) / 2;
        const int S = 4;
        for (int y = 0; y < height; y++)
        for (int x = 0; x < width; x++)
        {
            for (int c = 0; c < channels; c++)
            {
                double sum = 0;
                for (int sy = 0; sy < S; sy++)
                for (int sx = 0; sx < S; sx++)
                {
                    double fx = left + (x + (sx + 0.5) / S) / scale - 0.5;
                    double fy = top + (y + (sy + 0.5) / S) / scale - 0.5;
                    sum += Bilinear(src, sw, sh, fx, fy, offsets[c]);
                }
                output[c * plane + y * width + x] = Math.Clamp((float)(sum / (S * S)) * Scale, 0f, 1f);
            }
        }
        return output;
    }

    private static double Bilinear(ReadOnlySpan<byte> src, int w, int h, double fx, double fy, int channel)
    {
        fx = Math.Clamp(fx, 0, w - 1);
        fy = Math.Clamp(fy, 0, h - 1);
        int x0 = (int)fx, y0 = (int)fy;
        int x1 = Math.Min(x0 + 1, w - 1), y1 = Math.Min(y0 + 1, h - 1);
        double ax = fx - x0, ay = fy - y0;
        // Indices in long: (y · w + x) · 4 exceeds int.MaxValue for images above 512 MP.
        long row0 = (long)y0 * w, row1 = (long)y1 * w;
        double p00 = src[checked((int)((row0 + x0) * 4 + channel))], p01 = src[checked((int)((row0 + x1) * 4 + channel))];
        double p10 = src[checked((int)((row1 + x0) * 4 + channel))], p11 = src[checked((int)((row1 + x1) * 4 + channel))];
        return (p00 * (1 - ax) + p01 * ax) * (1 - ay) + (p10 * (1 - ax) + p11 * ax) * ay;
    }
}
