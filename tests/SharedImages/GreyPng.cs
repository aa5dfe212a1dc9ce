using Microsoft.ML.Data;

namespace DqMlNet.Tests;

/// <summary>Writes a 28×28 grey image (bytes 0–255) as a real RGBA PNG file, as image data on disk would look.</summary>
internal static class GreyPng
{
    public static void Save(ReadOnlySpan<byte> grey, string path)
    {
        var rgba = new byte[grey.Length * 4];
        for (int p = 0; p < grey.Length; p++)
        {
            byte v = grey[p];
            rgba[4 * p] = v; rgba[4 * p + 1] = v; rgba[4 * p + 2] = v; rgba[4 * p + 3] = 255;
        }
        using var image = MLImage.CreateFromPixels(28, 28, MLPixelFormat.Rgba32, rgba);
        image.Save(path);
    }
}
