using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;

namespace DqMlNet.Tests;

/// <summary>Builders of small hostile dataset files: each is a few hundred bytes to a megabyte on disk.</summary>
internal static class HostileFiles
{
    /// <summary>An IDX header (unsigned bytes, the given sizes) followed by <paramref name="data"/>.</summary>
    public static byte[] IdxHeader(params int[] dims)
    {
        var h = new byte[4 + 4 * dims.Length];
        h[2] = 0x08;
        h[3] = (byte)dims.Length;
        for (int i = 0; i < dims.Length; i++) BinaryPrimitives.WriteInt32BigEndian(h.AsSpan(4 + 4 * i), dims[i]);
        return h;
    }

    /// <summary>Gzips the header followed by <paramref name="zeros"/> zero bytes, generated on the fly (fast level: a bomb).</summary>
    public static void WriteGzip(string path, byte[] header, long zeros)
    {
        using var file = File.Create(path);
        using var gz = new GZipStream(file, CompressionLevel.Fastest);
        gz.Write(header);
        var block = new byte[1 << 20];
        for (long left = zeros; left > 0; left -= block.Length) gz.Write(block, 0, (int)Math.Min(block.Length, left));
    }

    /// <summary>A tar.gz with one regular-file entry whose header declares <paramref name="declaredSize"/> bytes but holds <paramref name="data"/>.</summary>
    public static void WriteTarGz(string path, string entryName, long declaredSize, byte[] data)
    {
        var header = new byte[512];
        Encoding.ASCII.GetBytes(entryName).CopyTo(header, 0);
        Octal(header, 100, 8, 0x1a4); // mode 0644
        Octal(header, 108, 8, 0);
        Octal(header, 116, 8, 0);
        Octal(header, 124, 12, declaredSize);
        Octal(header, 136, 12, 0);
        header[156] = (byte)'0';
        Encoding.ASCII.GetBytes("ustar\0").CopyTo(header, 257);
        header[263] = (byte)'0';
        header[264] = (byte)'0';
        for (int i = 148; i < 156; i++) header[i] = (byte)' ';
        long sum = header.Sum(b => (long)b);
        Encoding.ASCII.GetBytes(Convert.ToString(sum, 8).PadLeft(6, '0') + "\0 ").CopyTo(header, 148);
        using var file = File.Create(path);
        using var gz = new GZipStream(file, CompressionLevel.Fastest);
        gz.Write(header);
        gz.Write(data);
        gz.Write(new byte[(512 - data.Length % 512) % 512 + 1024]);
    }

    private static void Octal(byte[] header, int offset, int length, long value) =>
        Encoding.ASCII.GetBytes(Convert.ToString(value, 8).PadLeft(length - 1, '0') + "\0").CopyTo(header, offset);

    /// <summary>The 128-byte MAT v5 header (little-endian).</summary>
    public static byte[] MatHeader()
    {
        var h = new byte[128];
        Encoding.ASCII.GetBytes("MATLAB 5.0 MAT-file, hostile test".PadRight(116)).CopyTo(h, 0);
        for (int i = 116; i < 124; i++) h[i] = (byte)' ';
        BinaryPrimitives.WriteUInt16LittleEndian(h.AsSpan(124), 0x0100);
        h[126] = (byte)'I';
        h[127] = (byte)'M';
        return h;
    }

    /// <summary>
    /// The contents of a miMATRIX element (without its own tag): uint8 class, the given dimensions, name "X", and a
    /// real-part tag declaring <paramref name="realBytes"/> bytes followed by <paramref name="present"/> bytes.
    /// </summary>
    public static byte[] MatrixBody(int[] dims, uint realBytes, int present)
    {
        var ms = new MemoryStream();
        var w = new BinaryWriter(ms);
        w.Write(6u); w.Write(8u); w.Write(9u); w.Write(0u);               // array flags: miUINT32, class uint8
        w.Write(5u); w.Write((uint)(4 * dims.Length));                     // dimensions: miINT32
        foreach (int d in dims) w.Write(d);
        if (dims.Length % 2 == 1) w.Write(0);
        w.Write((1u << 16) | 1u); w.Write((byte)'X'); w.Write(new byte[3]); // name: small element "X"
        w.Write(2u); w.Write(realBytes);                                    // real part: miUINT8
        w.Write(new byte[present]);
        return ms.ToArray();
    }

    /// <summary>A MAT file holding one uncompressed miMATRIX element whose size is the body's length.</summary>
    public static byte[] MatFile(byte[] body)
    {
        var ms = new MemoryStream();
        ms.Write(MatHeader());
        var w = new BinaryWriter(ms);
        w.Write(14u); w.Write((uint)body.Length);
        w.Write(body);
        return ms.ToArray();
    }

    /// <summary>A MAT file holding one miCOMPRESSED element: zlib of a miMATRIX tag declaring <paramref name="declared"/> bytes and <paramref name="body"/>.</summary>
    public static byte[] CompressedMatFile(uint declared, byte[] body)
    {
        var z = new MemoryStream();
        using (var zlib = new ZLibStream(z, CompressionLevel.Fastest, leaveOpen: true))
        {
            var w = new BinaryWriter(zlib);
            w.Write(14u); w.Write(declared);
            w.Write(body);
        }
        var ms = new MemoryStream();
        ms.Write(MatHeader());
        var bw = new BinaryWriter(ms);
        bw.Write(15u); bw.Write((uint)z.Length);
        bw.Write(z.ToArray());
        return ms.ToArray();
    }
}
