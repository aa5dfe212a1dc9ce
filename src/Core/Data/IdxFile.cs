using System.Buffers.Binary;
using System.IO.Compression;

namespace DqMlNet.Data;

/// <summary>
/// Reader and writer of the IDX format of MNIST and Fashion-MNIST (<c>*-images-idx3-ubyte[.gz]</c>,
/// <c>*-labels-idx1-ubyte[.gz]</c>): magic 0x0000 0x08 (unsigned byte) then the number of dimensions, big-endian
/// 32-bit sizes, then the data. Gzip is detected from the content, not the name.
/// </summary>
public static class IdxFile
{
    private const byte UnsignedByte = 0x08;

    /// <summary>Reads an idx3 image file: (pixels row-major, count, rows, cols).</summary>
    public static (byte[] Pixels, int Count, int Rows, int Columns) ReadImages(string path)
    {
        var (dims, data) = Read(path, expectedDims: 3, what: "image");
        return (data, dims[0], dims[1], dims[2]);
    }

    /// <summary>Reads an idx1 label file.</summary>
    public static byte[] ReadLabels(string path) => Read(path, expectedDims: 1, what: "label").Data;

    /// <summary>Writes an idx3 image file (gzip when the name ends in .gz), atomically.</summary>
    public static void WriteImages(string path, ReadOnlySpan<byte> pixels, int count, int rows, int columns)
    {
        if ((long)count * rows * columns != pixels.Length)
            throw new ArgumentException($"{pixels.Length} pixel bytes do not make {count} images of {rows}×{columns}.", nameof(pixels));
        Write(path, new[] { count, rows, columns }, pixels.ToArray());
    }

    /// <summary>Writes an idx1 label file (gzip when the name ends in .gz), atomically.</summary>
    public static void WriteLabels(string path, ReadOnlySpan<byte> labels) => Write(path, new[] { labels.Length }, labels.ToArray());

    private static void Write(string path, int[] dims, byte[] data)
    {
        AtomicFile.Write(path, stream =>
        {
            bool gzip = path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase);
            Stream output = gzip ? new GZipStream(stream, CompressionLevel.SmallestSize, leaveOpen: true) : stream;
            Span<byte> header = stackalloc byte[4 + 4 * dims.Length];
            header[2] = UnsignedByte;
            header[3] = (byte)dims.Length;
            for (int i = 0; i < dims.Length; i++) BinaryPrimitives.WriteInt32BigEndian(header.Slice(4 + 4 * i), dims[i]);
            output.Write(header);
            output.Write(data);
            if (gzip) output.Dispose(); // flushes the gzip trailer; the file stream stays open for AtomicFile
        });
    }

    private static (int[] Dims, byte[] Data) Read(string path, int expectedDims, string what)
    {
        if (!File.Exists(path))
            throw new FileNotFoundException($"IDX {what} file not found: '{path}'.", path);
        byte[] raw = File.ReadAllBytes(path);
        byte[] bytes;
        try
        {
            bytes = raw.Length >= 2 && raw[0] == 0x1f && raw[1] == 0x8b ? Gunzip(raw) : raw;
        }
        catch (InvalidDataException ex)
        {
            throw new InvalidDataException($"'{path}' looks gzip-compressed but is corrupt ({ex.Message}). Delete it and download or rebuild it.", ex);
        }

        string Fix(string problem) =>
            $"'{path}' is not a valid IDX {what} file: {problem}. Expected the MNIST/Fashion-MNIST format " +
            $"(magic 0x0000080{expectedDims}); the file may be truncated or of another kind — delete it and download or rebuild it.";

        if (bytes.Length < 4) throw new InvalidDataException(Fix($"only {bytes.Length} bytes"));
        if (bytes[0] != 0 || bytes[1] != 0) throw new InvalidDataException(Fix($"magic starts with 0x{bytes[0]:x2}{bytes[1]:x2}, not 0x0000"));
        if (bytes[2] != UnsignedByte) throw new InvalidDataException(Fix($"element type 0x{bytes[2]:x2} is not unsigned byte (0x08)"));
        if (bytes[3] != expectedDims) throw new InvalidDataException(Fix($"{bytes[3]} dimensions instead of {expectedDims}"));
        int headerLength = 4 + 4 * expectedDims;
        if (bytes.Length < headerLength) throw new InvalidDataException(Fix("the header is truncated"));
        var dims = new int[expectedDims];
        long expected = 1;
        for (int i = 0; i < expectedDims; i++)
        {
            dims[i] = BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(4 + 4 * i));
            if (dims[i] <= 0) throw new InvalidDataException(Fix($"dimension {i} is {dims[i]}"));
            expected *= dims[i];
        }
        long actual = bytes.Length - headerLength;
        if (actual != expected)
            throw new InvalidDataException(Fix($"header says {string.Join("×", dims)} = {expected} bytes of data but the file holds {actual}"));
        return (dims, bytes.AsSpan(headerLength).ToArray());
    }

    private static byte[] Gunzip(byte[] gz)
    {
        using var input = new GZipStream(new MemoryStream(gz), CompressionMode.Decompress);
        using var output = new MemoryStream();
        input.CopyTo(output);
        return output.ToArray();
    }
}
