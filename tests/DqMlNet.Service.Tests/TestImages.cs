using System.Buffers.Binary;
using System.IO.Compression;

namespace DqMlNet.Tests;

/// <summary>
/// Hand-built PNG files for hostile-input tests, written independently of the service's own PNG code (its own CRC),
/// so a bug there cannot hide itself.
/// </summary>
internal static class TestImages
{
    /// <summary>
    /// A valid PNG declaring <paramref name="width"/> × <paramref name="height"/> one-bit grey pixels, all zero. The IDAT
    /// holds the whole image (filter byte + packed row per row) compressed: 30,000 × 30,000 is ~110 KB on disk and
    /// 112 MB inflated, 900 MP decoded.
    /// </summary>
    public static byte[] OneBitPng(int width, int height, int? rowsInData = null)
    {
        var row = new byte[1 + (width + 7) / 8];
        using var compressed = new MemoryStream();
        using (var zlib = new ZLibStream(compressed, CompressionLevel.SmallestSize, leaveOpen: true))
            for (int y = 0; y < (rowsInData ?? height); y++) zlib.Write(row);
        return Png(width, height, bitDepth: 1, colorType: 0, compressed.ToArray());
    }

    /// <summary>A PNG from its IHDR fields and compressed IDAT data (chunk CRCs correct).</summary>
    public static byte[] Png(int width, int height, byte bitDepth, byte colorType, byte[] idat)
    {
        var ihdr = new byte[13];
        BinaryPrimitives.WriteInt32BigEndian(ihdr, width);
        BinaryPrimitives.WriteInt32BigEndian(ihdr.AsSpan(4), height);
        ihdr[8] = bitDepth;
        ihdr[9] = colorType;
        using var png = new MemoryStream();
        png.Write([0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A]);
        Chunk(png, "IHDR", ihdr);
        Chunk(png, "IDAT", idat);
        Chunk(png, "IEND", []);
        return png.ToArray();
    }

    /// <summary>A grey 8-bit PNG of <paramref name="pixels"/> (row-major), of which only the first <paramref name="rowsInData"/> rows are compressed.</summary>
    public static byte[] GreyPng(byte[] pixels, int width, int height, int rowsInData)
    {
        using var compressed = new MemoryStream();
        using (var zlib = new ZLibStream(compressed, CompressionLevel.Optimal, leaveOpen: true))
            for (int y = 0; y < rowsInData; y++)
            {
                zlib.WriteByte(0);
                zlib.Write(pixels, y * width, width);
            }
        return Png(width, height, 8, 0, compressed.ToArray());
    }

    private static void Chunk(Stream png, string type, byte[] data)
    {
        var header = new byte[8];
        BinaryPrimitives.WriteInt32BigEndian(header, data.Length);
        System.Text.Encoding.ASCII.GetBytes(type, header.AsSpan(4));
        png.Write(header);
        png.Write(data);
        var crc = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(crc, Crc(header.AsSpan(4).ToArray().Concat(data).ToArray()));
        png.Write(crc);
    }

    /// <summary>Bitwise CRC-32 (polynomial 0xEDB88320), as PNG chunks use.</summary>
    public static uint Crc(byte[] data)
    {
        uint crc = 0xFFFFFFFF;
        foreach (byte b in data)
        {
            crc ^= b;
            for (int k = 0; k < 8; k++) crc = (crc & 1) != 0 ? (crc >> 1) ^ 0xEDB88320 : crc >> 1;
        }
        return ~crc;
    }
}
