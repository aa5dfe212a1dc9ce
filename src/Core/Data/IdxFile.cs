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

        string Fix(string problem) =>
            $"'{path}' is not a valid IDX {what} file: {problem}. Expected the MNIST/Fashion-MNIST format " +
            $"(magic 0x0000080{expectedDims}); the file may be truncated or of another kind — delete it and download or rebuild it.";

        using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        long fileLength = file.Length;
        Span<byte> probe = stackalloc byte[2];
        int probed = file.ReadAtLeast(probe, 2, throwOnEndOfStream: false);
        file.Position = 0;
        bool gzip = probed == 2 && probe[0] == 0x1f && probe[1] == 0x8b;
        try
        {
            using Stream input = gzip ? new GZipStream(file, CompressionMode.Decompress, leaveOpen: true) : file;
            string field = gzip ? "the decompressed data" : "the file";

            // The header: magic (2 zero bytes, type, dimension count) and one big-endian size per dimension.
            int headerLength = 4 + 4 * expectedDims;
            var h = new byte[headerLength];
            int headerRead = input.ReadAtLeast(h, headerLength, throwOnEndOfStream: false);
            if (headerRead < 4) throw new InvalidDataException(Fix($"only {headerRead} bytes"));
            if (h[0] != 0 || h[1] != 0) throw new InvalidDataException(Fix($"magic starts with 0x{h[0]:x2}{h[1]:x2}, not 0x0000"));
            if (h[2] != UnsignedByte) throw new InvalidDataException(Fix($"element type 0x{h[2]:x2} is not unsigned byte (0x08)"));
            if (h[3] != expectedDims) throw new InvalidDataException(Fix($"{h[3]} dimensions instead of {expectedDims}"));
            if (headerRead < headerLength) throw new InvalidDataException(Fix("the header is truncated"));

            var dims = new int[expectedDims];
            long expected = 1;
            for (int i = 0; i < expectedDims; i++)
            {
                dims[i] = BinaryPrimitives.ReadInt32BigEndian(h.AsSpan(4 + 4 * i));
                if (dims[i] <= 0) throw new InvalidDataException(Fix($"dimension {i} is {dims[i]}"));
                // Checked: three 31-bit sizes can exceed 2^63, and a wrapped product could match the file's length.
                try { expected = checked(expected * dims[i]); }
                catch (OverflowException) { throw new InvalidDataException(Fix($"the dimensions {string.Join("×", dims.Take(i + 1))} overflow a 64-bit size")); }
            }
            string shape = string.Join("×", dims);
            long cap = Math.Min(DataLimits.MaxDatasetBytes, Array.MaxLength);
            if (expected > cap)
                throw new InvalidDataException(Fix(
                    $"the header declares {shape} = {expected:N0} bytes of data, more than the limit of {cap:N0} bytes. " +
                    DataLimits.RaiseDatasetHint));
            if (!gzip)
            {
                long actual = fileLength - headerLength;
                if (actual != expected)
                    throw new InvalidDataException(Fix($"header says {shape} = {expected} bytes of data but the file holds {actual}"));
            }

            var data = BoundedRead.Exactly(input, expected, out long dataRead);
            if (data is null)
                throw new InvalidDataException(Fix($"header says {shape} = {expected} bytes of data but {field} holds only {dataRead}"));
            if (!BoundedRead.AtEnd(input))
                throw new InvalidDataException(Fix($"{field} holds more than the {expected} bytes of data its header declares ({shape})"));
            return (dims, data);
        }
        catch (InvalidDataException ex) when (gzip && ex.Message.IndexOf(path, StringComparison.Ordinal) < 0)
        {
            throw new InvalidDataException($"'{path}' looks gzip-compressed but is corrupt ({ex.Message}). Delete it and download or rebuild it.", ex);
        }
    }
}
