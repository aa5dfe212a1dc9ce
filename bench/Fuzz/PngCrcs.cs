using System.Buffers.Binary;

namespace DqMlNet.Fuzz;

/// <summary>
/// Rewrites the CRC of every PNG chunk that lies inside the input to match its type and data. A mutated PNG almost never
/// has valid CRCs, so without this the fuzzer would only ever exercise the CRC check, not what comes after it.
/// </summary>
internal static class PngCrcs
{
    public static byte[] Fix(byte[] input)
    {
        if (input.Length < 8 || input[0] != 0x89 || input[1] != (byte)'P') return input;
        var png = (byte[])input.Clone();
        long at = 8;
        while (at + 12 <= png.Length)
        {
            long length = BinaryPrimitives.ReadUInt32BigEndian(png.AsSpan((int)at));
            long end = at + 8 + length;
            if (end + 4 > png.Length) break;
            uint crc = Crc(png.AsSpan((int)at + 4, (int)(4 + length)));
            BinaryPrimitives.WriteUInt32BigEndian(png.AsSpan((int)end), crc);
            at = end + 4;
        }
        return png;
    }

    private static readonly uint[] Table = Enumerable.Range(0, 256).Select(n =>
    {
        uint c = (uint)n;
        for (int k = 0; k < 8; k++) c = (c & 1) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        return c;
    }).ToArray();

    /// <summary>CRC-32 (ISO 3309, reflected 0xEDB88320), as PNG uses.</summary>
    private static uint Crc(ReadOnlySpan<byte> data)
    {
        uint crc = 0xFFFFFFFFu;
        foreach (byte b in data) crc = Table[(crc ^ b) & 0xFF] ^ (crc >> 8);
        return crc ^ 0xFFFFFFFFu;
    }
}
