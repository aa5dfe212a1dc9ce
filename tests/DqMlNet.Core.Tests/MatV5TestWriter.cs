using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;

namespace DqMlNet.Tests;

/// <summary>
/// Test-only MAT v5 writer producing MATLAB's layout byte for byte: 128-byte header, one miMATRIX per variable
/// (array flags, dimensions, name — as a small data element when at most 4 characters — and the real part, each
/// padded to 8 bytes), optionally wrapped in miCOMPRESSED (zlib, unpadded) as <c>save -v7</c> does.
/// </summary>
internal sealed class MatV5TestWriter(bool compressed, bool bigEndian = false)
{
    // mi* data types and mx* classes used here.
    public const uint MiInt8 = 1, MiUInt8 = 2, MiInt32 = 5, MiUInt32 = 6, MiDouble = 9, MiMatrix = 14, MiCompressed = 15;
    public const byte MxChar = 4, MxDouble = 6, MxUInt8 = 9;

    private readonly MemoryStream _body = new();

    /// <summary>Adds a variable whose data (already in column-major order) is stored as <paramref name="storage"/>.</summary>
    public MatV5TestWriter Add(string name, byte matClass, int[] dims, uint storage, byte[] dataLittleEndian)
    {
        var m = new MemoryStream();
        Element(m, MiUInt32, Concat(U32(matClass), U32(0)));
        Element(m, MiInt32, dims.SelectMany(d => U32((uint)d)).ToArray());
        Element(m, MiInt8, Encoding.ASCII.GetBytes(name));
        int size = storage switch { MiDouble => 8, MiInt32 or MiUInt32 => 4, _ => 1 };
        Element(m, storage, Swap(dataLittleEndian, size));
        var matrix = new MemoryStream();
        Tag(matrix, MiMatrix, (uint)m.Length);
        m.WriteTo(matrix);
        if (!compressed)
        {
            matrix.WriteTo(_body);
            return this;
        }
        var z = new MemoryStream();
        using (var zlib = new ZLibStream(z, CompressionLevel.Optimal, leaveOpen: true)) matrix.WriteTo(zlib);
        Tag(_body, MiCompressed, (uint)z.Length);
        z.WriteTo(_body);
        return this;
    }

    public MatV5TestWriter AddUInt8(string name, int[] dims, byte[] data) => Add(name, MxUInt8, dims, MiUInt8, data);

    public MatV5TestWriter AddDouble(string name, int[] dims, double[] data) =>
        Add(name, MxDouble, dims, MiDouble, data.SelectMany(v => BitConverter.GetBytes(v)).ToArray());

    public byte[] ToBytes()
    {
        var file = new MemoryStream();
        var text = Encoding.ASCII.GetBytes("MATLAB 5.0 MAT-file, Platform: GLNXA64, Created on: Mon Jan  1 00:00:00 2024".PadRight(116));
        file.Write(text);
        file.Write(new byte[8]); // subsystem data offset: unused
        var version = new byte[2];
        if (bigEndian) BinaryPrimitives.WriteUInt16BigEndian(version, 0x0100); else BinaryPrimitives.WriteUInt16LittleEndian(version, 0x0100);
        file.Write(version);
        file.Write(Encoding.ASCII.GetBytes(bigEndian ? "MI" : "IM"));
        _body.WriteTo(file);
        return file.ToArray();
    }

    public void Save(string path) => File.WriteAllBytes(path, ToBytes());

    private void Element(Stream s, uint type, byte[] data)
    {
        if (data.Length <= 4 && data.Length > 0 && type == MiInt8)
        {
            // Small data element: 16-bit byte count and 16-bit type in one 32-bit word, data in the next 4 bytes.
            s.Write(U32(((uint)data.Length << 16) | type));
            s.Write(data);
            s.Write(new byte[4 - data.Length]);
            return;
        }
        Tag(s, type, (uint)data.Length);
        s.Write(data);
        s.Write(new byte[(8 - data.Length % 8) % 8]);
    }

    private void Tag(Stream s, uint type, uint size)
    {
        s.Write(U32(type));
        s.Write(U32(size));
    }

    private byte[] U32(uint v)
    {
        var b = new byte[4];
        if (bigEndian) BinaryPrimitives.WriteUInt32BigEndian(b, v); else BinaryPrimitives.WriteUInt32LittleEndian(b, v);
        return b;
    }


    private byte[] Swap(byte[] littleEndian, int size)
    {
        if (!bigEndian || size == 1) return littleEndian;
        var b = (byte[])littleEndian.Clone();
        for (int i = 0; i < b.Length; i += size) Array.Reverse(b, i, size);
        return b;
    }

    private static byte[] Concat(byte[] a, byte[] b) => a.Concat(b).ToArray();
}
