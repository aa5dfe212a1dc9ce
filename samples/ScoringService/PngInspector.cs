using System.Buffers.Binary;
using System.IO.Compression;

namespace DqMlNet.Samples.ScoringService;

/// <summary>
/// PNG checks before decoding: the IHDR chunk (dimensions, bit depth, colour type) is read and its CRC verified first;
/// then every chunk must lie inside the file with a matching CRC, up to IEND, and the concatenated IDAT data must
/// inflate to at least the bytes the header promises (one filter byte plus the packed pixels per row, per Adam7 pass
/// when interlaced). Inflation stops one byte after that amount, so a compression bomb costs no more than the image.
/// </summary>
internal static class PngInspector
{
    private static ReadOnlySpan<byte> Signature => [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A];

    /// <summary>The PNG fields the later checks need.</summary>
    public readonly record struct PngInfo(ImageHeader Header, int BitDepth, int ColorType, bool Interlaced);

    public static bool IsPng(ReadOnlySpan<byte> bytes) => bytes.Length >= 8 && bytes[..8].SequenceEqual(Signature);

    public static PngInfo ReadHeader(ReadOnlySpan<byte> bytes)
    {
        // Signature (8) + length (4) + "IHDR" (4) + 13 data bytes + CRC (4).
        if (bytes.Length < 33) throw ImageInspector.Corrupt("PNG", "the file ends inside the IHDR header");
        uint length = BinaryPrimitives.ReadUInt32BigEndian(bytes[8..]);
        if (length != 13 || !bytes.Slice(12, 4).SequenceEqual("IHDR"u8))
            throw ImageInspector.Corrupt("PNG", "the first chunk is not a 13-byte IHDR");
        if (Crc32.Compute(bytes.Slice(12, 17)) != BinaryPrimitives.ReadUInt32BigEndian(bytes[29..]))
            throw ImageInspector.Corrupt("PNG", "the IHDR chunk's CRC does not match its contents");
        uint width = BinaryPrimitives.ReadUInt32BigEndian(bytes[16..]);
        uint height = BinaryPrimitives.ReadUInt32BigEndian(bytes[20..]);
        int bitDepth = bytes[24], colorType = bytes[25];
        if (width == 0 || height == 0 || width > int.MaxValue || height > int.MaxValue)
            throw ImageInspector.Corrupt("PNG", $"IHDR declares {width} × {height} pixels (each side must be 1 to 2^31 − 1)");
        bool validDepth = colorType switch
        {
            0 => bitDepth is 1 or 2 or 4 or 8 or 16,
            3 => bitDepth is 1 or 2 or 4 or 8,
            2 or 4 or 6 => bitDepth is 8 or 16,
            _ => false,
        };
        if (!validDepth) throw ImageInspector.Corrupt("PNG", $"IHDR declares colour type {colorType} with bit depth {bitDepth}, which PNG does not define");
        if (bytes[26] != 0 || bytes[27] != 0 || bytes[28] > 1)
            throw ImageInspector.Corrupt("PNG", "IHDR declares an unknown compression, filter or interlace method");
        return new PngInfo(new ImageHeader("PNG", (int)width, (int)height), bitDepth, colorType, bytes[28] == 1);
    }

    public static void VerifyComplete(byte[] bytes, PngInfo info)
    {
        var idat = new List<(int Offset, int Length)>();
        bool palette = false, end = false, idatClosed = false;
        int pos = 8;
        while (!end)
        {
            if (bytes.Length - pos < 12) throw ImageInspector.Corrupt("PNG", $"the file ends at byte {bytes.Length} before the IEND chunk");
            uint length = BinaryPrimitives.ReadUInt32BigEndian(bytes.AsSpan(pos));
            if (length > int.MaxValue || length > (uint)(bytes.Length - pos - 12))
                throw ImageInspector.Corrupt("PNG", $"a chunk at byte {pos} declares {length} data bytes but only {Math.Max(0, bytes.Length - pos - 12)} follow");
            var type = bytes.AsSpan(pos + 4, 4);
            foreach (byte c in type)
                if (!char.IsAsciiLetter((char)c)) throw ImageInspector.Corrupt("PNG", $"the chunk at byte {pos} has an invalid type");
            int dataLength = (int)length;
            uint crc = BinaryPrimitives.ReadUInt32BigEndian(bytes.AsSpan(pos + 8 + dataLength));
            if (Crc32.Compute(bytes.AsSpan(pos + 4, 4 + dataLength)) != crc)
                throw ImageInspector.Corrupt("PNG", $"the CRC of the {System.Text.Encoding.ASCII.GetString(type)} chunk at byte {pos} does not match its contents");
            if (type.SequenceEqual("IDAT"u8))
            {
                if (idatClosed) throw ImageInspector.Corrupt("PNG", "the IDAT chunks are not consecutive");
                idat.Add((pos + 8, dataLength));
            }
            else
            {
                if (idat.Count > 0) idatClosed = true;
                if (type.SequenceEqual("PLTE"u8)) palette = true;
                else if (type.SequenceEqual("IEND"u8)) end = true;
                else if (type.SequenceEqual("IHDR"u8) && pos != 8) throw ImageInspector.Corrupt("PNG", "the file holds a second IHDR chunk");
            }
            pos += 12 + dataLength;
        }
        if (idat.Count == 0) throw ImageInspector.Corrupt("PNG", "the file has no IDAT (pixel data) chunk");
        if (info.ColorType == 3 && !palette) throw ImageInspector.Corrupt("PNG", "the palette image has no PLTE chunk");

        long expected = ExpectedRawBytes(info);
        long inflated = Inflate(bytes, idat, expected + 1);
        if (inflated < expected)
            throw ImageInspector.Corrupt("PNG", $"the pixel data inflates to {inflated:N0} bytes but {info.Header.Width} × {info.Header.Height} pixels need {expected:N0}");
    }

    /// <summary>Filter bytes plus packed pixel bytes of the whole image, per Adam7 pass when interlaced.</summary>
    internal static long ExpectedRawBytes(PngInfo info)
    {
        int channels = info.ColorType switch { 0 => 1, 2 => 3, 3 => 1, 4 => 2, _ => 4 };
        long bitsPerPixel = checked((long)channels * info.BitDepth);
        long width = info.Header.Width, height = info.Header.Height;
        if (!info.Interlaced) return checked(height * (1 + (width * bitsPerPixel + 7) / 8));
        ReadOnlySpan<int> passes = [0, 0, 8, 8, 4, 0, 8, 8, 0, 4, 4, 8, 2, 0, 4, 4, 0, 2, 2, 4, 1, 0, 2, 2, 0, 1, 1, 2];
        long total = 0;
        for (int p = 0; p < passes.Length; p += 4)
        {
            long w = width > passes[p] ? (width - passes[p] + passes[p + 2] - 1) / passes[p + 2] : 0;
            long h = height > passes[p + 1] ? (height - passes[p + 1] + passes[p + 3] - 1) / passes[p + 3] : 0;
            if (w > 0 && h > 0) total = checked(total + h * (1 + (w * bitsPerPixel + 7) / 8));
        }
        return total;
    }

    /// <summary>Bytes the zlib stream in the IDAT chunks inflates to, reading at most <paramref name="limit"/>.</summary>
    private static long Inflate(byte[] bytes, List<(int Offset, int Length)> idat, long limit)
    {
        using var zlib = new ZLibStream(new SegmentStream(bytes, idat), CompressionMode.Decompress);
        var buffer = System.Buffers.ArrayPool<byte>.Shared.Rent((int)Math.Min(64 * 1024, limit));
        long total = 0;
        try
        {
            while (total < limit)
            {
                int read = zlib.Read(buffer, 0, (int)Math.Min(buffer.Length, limit - total));
                if (read == 0) break;
                total += read;
            }
        }
        catch (Exception ex) when (ex is InvalidDataException or IOException)
        {
            // zlib reports a damaged stream as InvalidDataException or as an IOException subtype (ZLibException).
            throw ImageInspector.Corrupt("PNG", $"the compressed pixel data is invalid ({ex.Message.TrimEnd('.')})");
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
        }
        return total;
    }

    /// <summary>A read-only stream over several ranges of one array (the IDAT chunks' data, in order).</summary>
    private sealed class SegmentStream(byte[] bytes, List<(int Offset, int Length)> segments) : Stream
    {
        private int segment, offset;

        public override int Read(byte[] buffer, int index, int count) => Read(buffer.AsSpan(index, count));

        public override int Read(Span<byte> destination)
        {
            while (segment < segments.Count && offset == segments[segment].Length)
            {
                segment++;
                offset = 0;
            }
            if (segment == segments.Count || destination.IsEmpty) return 0;
            var (start, length) = segments[segment];
            int n = Math.Min(destination.Length, length - offset);
            bytes.AsSpan(start + offset, n).CopyTo(destination);
            offset += n;
            return n;
        }

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int index, int count) => throw new NotSupportedException();
    }
}
