using System.Buffers.Binary;

namespace DqMlNet.Samples.ScoringService;

/// <summary>
/// JPEG checks before decoding: the marker segments are walked from SOI; the frame header (SOF) gives the dimensions,
/// each segment must lie inside the file, and the entropy-coded data after every SOS must be followed by further
/// segments and finally EOI. A decoder fed a truncated JPEG fills the missing rows with grey and reports success, so
/// an image without EOI is refused.
/// </summary>
internal static class JpegInspector
{
    private const byte Sof0 = 0xC0, Dht = 0xC4, Jpg = 0xC8, Dac = 0xCC, Sos = 0xDA, Eoi = 0xD9, Tem = 0x01;

    public static bool IsJpeg(ReadOnlySpan<byte> bytes) => bytes.Length >= 3 && bytes[0] == 0xFF && bytes[1] == 0xD8 && bytes[2] == 0xFF;

    public static ImageHeader ReadHeader(ReadOnlySpan<byte> bytes)
    {
        int pos = 2;
        while (true)
        {
            var (marker, start) = NextMarker(bytes, pos);
            if (marker is Eoi or Sos) throw ImageInspector.Corrupt("JPEG", "no frame header (SOF) precedes the image data");
            if (IsStandalone(marker))
            {
                pos = start;
                continue;
            }
            int length = SegmentLength(bytes, start);
            if (IsFrameHeader(marker))
            {
                if (length < 8) throw ImageInspector.Corrupt("JPEG", $"the frame header at byte {start - 2} is {length} bytes long");
                int height = BinaryPrimitives.ReadUInt16BigEndian(bytes[(start + 3)..]);
                int width = BinaryPrimitives.ReadUInt16BigEndian(bytes[(start + 5)..]);
                if (width == 0 || height == 0)
                    throw ImageInspector.Corrupt("JPEG", $"the frame header declares {width} × {height} pixels (a height defined later by DNL is not supported)");
                return new ImageHeader("JPEG", width, height);
            }
            pos = start + length;
        }
    }

    public static void VerifyComplete(ReadOnlySpan<byte> bytes)
    {
        int pos = 2;
        bool frame = false;
        while (true)
        {
            var (marker, start) = NextMarker(bytes, pos);
            if (marker == Eoi)
            {
                if (!frame) throw ImageInspector.Corrupt("JPEG", "the image ends before any frame header");
                return;
            }
            if (IsStandalone(marker))
            {
                pos = start;
                continue;
            }
            int length = SegmentLength(bytes, start);
            frame |= IsFrameHeader(marker);
            pos = start + length;
            if (marker == Sos)
            {
                if (!frame) throw ImageInspector.Corrupt("JPEG", "image data (SOS) comes before the frame header");
                pos = SkipEntropyCodedData(bytes, pos);
            }
        }
    }

    /// <summary>The marker at <paramref name="pos"/> (after optional 0xFF fill bytes) and the index just after it.</summary>
    private static (byte Marker, int Next) NextMarker(ReadOnlySpan<byte> bytes, int pos)
    {
        if (pos >= bytes.Length) throw ImageInspector.Corrupt("JPEG", $"the file ends at byte {bytes.Length} before the end-of-image marker");
        if (bytes[pos] != 0xFF) throw ImageInspector.Corrupt("JPEG", $"byte {pos} should start a marker (0xFF) but is 0x{bytes[pos]:X2}");
        while (pos < bytes.Length && bytes[pos] == 0xFF) pos++;
        if (pos >= bytes.Length) throw ImageInspector.Corrupt("JPEG", $"the file ends at byte {bytes.Length} before the end-of-image marker");
        byte marker = bytes[pos];
        if (marker == 0x00) throw ImageInspector.Corrupt("JPEG", $"byte {pos} holds a stuffed zero where a marker is expected");
        return (marker, pos + 1);
    }

    private static int SegmentLength(ReadOnlySpan<byte> bytes, int start)
    {
        if (bytes.Length - start < 2) throw ImageInspector.Corrupt("JPEG", $"the file ends at byte {bytes.Length} inside a segment header");
        int length = BinaryPrimitives.ReadUInt16BigEndian(bytes[start..]);
        if (length < 2) throw ImageInspector.Corrupt("JPEG", $"the segment at byte {start - 2} declares a length of {length}");
        if (length > bytes.Length - start)
            throw ImageInspector.Corrupt("JPEG", $"the segment at byte {start - 2} declares {length} bytes but only {bytes.Length - start} follow");
        return length;
    }

    /// <summary>Index of the first marker after entropy-coded data (0xFF followed by neither a stuffed 0 nor RSTn).</summary>
    private static int SkipEntropyCodedData(ReadOnlySpan<byte> bytes, int pos)
    {
        while (true)
        {
            int ff = bytes[pos..].IndexOf((byte)0xFF);
            if (ff < 0 || pos + ff + 1 >= bytes.Length)
                throw ImageInspector.Corrupt("JPEG", $"the file ends at byte {bytes.Length} inside the image data, before the end-of-image marker");
            pos += ff;
            byte next = bytes[pos + 1];
            if (next == 0x00 || next is >= 0xD0 and <= 0xD7 || next == 0xFF)
            {
                pos += next == 0xFF ? 1 : 2;
                continue;
            }
            return pos;
        }
    }

    private static bool IsStandalone(byte marker) => marker is Tem or >= 0xD0 and <= 0xD8;

    private static bool IsFrameHeader(byte marker) => marker is >= Sof0 and <= 0xCF and not Dht and not Jpg and not Dac;
}
