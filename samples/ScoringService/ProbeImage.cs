using System.Buffers.Binary;
using System.IO.Compression;

namespace DqMlNet.Samples.ScoringService;

/// <summary>
/// The built-in image the readiness check scores: a PNG of the model's input size (a diagonal grey gradient with a
/// bright square), encoded here so that the probe takes exactly the path of an uploaded PNG (header checks, decoder,
/// pixels, batcher, model).
/// </summary>
internal static class ProbeImage
{
    public static byte[] Png(int width, int height)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(width, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(height, 1);
        int stride = checked(1 + width * 3);
        var raw = new byte[checked(height * stride)];
        for (int y = 0; y < height; y++)
        {
            raw[y * stride] = 0; // filter: none
            for (int x = 0; x < width; x++)
            {
                bool square = x >= width / 4 && x < 3 * width / 4 && y >= height / 4 && y < 3 * height / 4;
                byte v = square ? (byte)230 : (byte)(255 * (x + y) / Math.Max(1, width + height - 2) / 4);
                raw.AsSpan(y * stride + 1 + x * 3, 3).Fill(v);
            }
        }
        using var compressed = new MemoryStream();
        using (var zlib = new ZLibStream(compressed, CompressionLevel.Optimal, leaveOpen: true)) zlib.Write(raw);

        var ihdr = new byte[13];
        BinaryPrimitives.WriteUInt32BigEndian(ihdr, (uint)width);
        BinaryPrimitives.WriteUInt32BigEndian(ihdr.AsSpan(4), (uint)height);
        ihdr[8] = 8; // bit depth
        ihdr[9] = 2; // colour type: RGB
        using var png = new MemoryStream();
        png.Write([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]);
        WriteChunk(png, "IHDR"u8, ihdr);
        WriteChunk(png, "IDAT"u8, compressed.ToArray());
        WriteChunk(png, "IEND"u8, []);
        return png.ToArray();
    }

    private static void WriteChunk(Stream png, ReadOnlySpan<byte> type, ReadOnlySpan<byte> data)
    {
        Span<byte> word = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(word, (uint)data.Length);
        png.Write(word);
        var typed = new byte[4 + data.Length];
        type.CopyTo(typed);
        data.CopyTo(typed.AsSpan(4));
        png.Write(typed);
        BinaryPrimitives.WriteUInt32BigEndian(word, Crc32.Compute(typed));
        png.Write(word);
    }
}
