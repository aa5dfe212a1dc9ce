using System.Buffers.Binary;

namespace DqMlNet.Data;

/// <summary>
/// The pixel dimensions an image file declares in its header (PNG, JPEG, BMP), read without decoding it. Image
/// decoders allocate width × height × channels before they look at the data, so a few hundred bytes claiming
/// 30,000 × 30,000 pixels cost gigabytes: folders of images are checked against <see cref="DataLimits.MaxImagePixels"/>
/// with this before any decoder sees them.
/// </summary>
public static class ImageFileHeader
{
    /// <summary>Width and height declared by the image file at <paramref name="path"/>.</summary>
    /// <exception cref="InvalidDataException">The file is not a PNG, JPEG or BMP, or its header is damaged; names the file.</exception>
    public static (long Width, long Height) ReadDimensions(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        using var stream = File.OpenRead(path);
        Span<byte> head = stackalloc byte[26];
        int n = stream.ReadAtLeast(head, head.Length, throwOnEndOfStream: false);
        head = head[..n];
        if (n >= 24 && head[..8].SequenceEqual(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A }))
        {
            if (!head.Slice(12, 4).SequenceEqual("IHDR"u8)) throw Damaged(path, "PNG", "its first chunk is not IHDR");
            return (BinaryPrimitives.ReadUInt32BigEndian(head.Slice(16, 4)), BinaryPrimitives.ReadUInt32BigEndian(head.Slice(20, 4)));
        }
        if (n >= 26 && head[0] == (byte)'B' && head[1] == (byte)'M')
        {
            // BITMAPINFOHEADER: signed width and height (a negative height means top-down rows).
            long width = BinaryPrimitives.ReadInt32LittleEndian(head.Slice(18, 4)), height = BinaryPrimitives.ReadInt32LittleEndian(head.Slice(22, 4));
            return (Math.Abs(width), Math.Abs(height));
        }
        if (n >= 3 && head[0] == 0xFF && head[1] == 0xD8 && head[2] == 0xFF) return Jpeg(stream, path);
        throw new InvalidDataException(
            $"'{path}' is not a PNG, JPEG or BMP image (its first bytes match none of them). Remove it from the image folder " +
            "or convert it.");
    }

    /// <summary>Walks the JPEG marker segments (skipping each by its declared length) to the first start-of-frame.</summary>
    private static (long Width, long Height) Jpeg(Stream stream, string path)
    {
        stream.Position = 2;
        Span<byte> segment = stackalloc byte[9];
        while (true)
        {
            int b = stream.ReadByte();
            while (b == 0xFF) b = stream.ReadByte(); // fill bytes before a marker
            if (b < 0) throw Damaged(path, "JPEG", "it ends before its frame header (SOF)");
            int marker = b;
            if (marker is 0xD8 or 0x01 or (>= 0xD0 and <= 0xD7)) continue; // markers without a length
            if (marker == 0xD9 || marker == 0xDA) throw Damaged(path, "JPEG", "it has no frame header (SOF) before its image data");
            if (stream.ReadAtLeast(segment[..2], 2, throwOnEndOfStream: false) < 2) throw Damaged(path, "JPEG", "a marker segment is cut off");
            int length = BinaryPrimitives.ReadUInt16BigEndian(segment[..2]);
            if (length < 2) throw Damaged(path, "JPEG", $"marker 0x{marker:X2} declares a length of {length}");
            bool startOfFrame = marker is >= 0xC0 and <= 0xCF && marker is not (0xC4 or 0xC8 or 0xCC);
            if (startOfFrame)
            {
                if (length < 8 || stream.ReadAtLeast(segment[..5], 5, throwOnEndOfStream: false) < 5)
                    throw Damaged(path, "JPEG", "its frame header (SOF) is cut off");
                return (BinaryPrimitives.ReadUInt16BigEndian(segment.Slice(3, 2)), BinaryPrimitives.ReadUInt16BigEndian(segment.Slice(1, 2)));
            }
            long next = stream.Position + length - 2;
            if (next > stream.Length) throw Damaged(path, "JPEG", $"marker 0x{marker:X2} declares {length} bytes past the end of the file");
            stream.Position = next;
        }
    }

    private static InvalidDataException Damaged(string path, string format, string why) =>
        new($"'{path}' is a damaged {format} file: {why}. Remove it from the image folder or re-export it.");
}
