using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;

namespace DqMlNet.Data;

/// <summary>
/// Reader of real numeric arrays in MATLAB MAT-file version 5 format (what <c>save -v6</c> and <c>save -v7</c> write;
/// not the HDF5-based v7.3). Layout: a 128-byte header (116 bytes text, 8 bytes subsystem offset, version 0x0100,
/// endian indicator "IM" for little-endian / "MI" for big-endian), then data elements, each an 8-byte tag (type, byte
/// count) — or a 4-byte small-element tag with up to 4 bytes of data — followed by the data padded to 8 bytes.
/// Variables are <c>miMATRIX</c> elements (array flags with the class, dimensions, name, real part [, imaginary part])
/// or <c>miCOMPRESSED</c> elements holding a zlib-compressed <c>miMATRIX</c>. Numeric data may be stored in a smaller
/// type than its class (MATLAB does this for doubles holding small integers); values are converted on access.
/// Cell, struct, char, sparse and object variables are listed but not read; complex arrays are rejected.
/// </summary>
public static class MatV5Reader
{
    /// <summary>Length of the file header.</summary>
    public const int HeaderLength = 128;

    /// <summary>MAT v5 data types (the <c>mi*</c> values of element tags).</summary>
    internal enum DataType : uint
    {
        Int8 = 1, UInt8 = 2, Int16 = 3, UInt16 = 4, Int32 = 5, UInt32 = 6, Single = 7, Double = 9,
        Int64 = 12, UInt64 = 13, Matrix = 14, Compressed = 15, Utf8 = 16, Utf16 = 17, Utf32 = 18,
    }

    private const string Fix =
        "The file is truncated, corrupt or not a MAT v5 file: delete it and obtain it again (MATLAB: save(file, '-v7')).";

    /// <summary>Reads and validates the 128-byte header of <paramref name="path"/>.</summary>
    public static MatFileHeader ReadHeader(string path)
    {
        using var stream = Open(path);
        return ReadHeader(stream, path);
    }

    /// <summary>
    /// Reads the real numeric variables named in <paramref name="variables"/> (all of them when none are named) from
    /// <paramref name="path"/>; other variables are skipped without being decompressed in full. Throws
    /// <see cref="InvalidDataException"/> naming the file, the byte offset and the problem for malformed content.
    /// </summary>
    public static MatFile Read(string path, params string[] variables)
    {
        using var stream = Open(path);
        var header = ReadHeader(stream, path);
        var wanted = variables.Length == 0 ? null : new HashSet<string>(variables, StringComparer.Ordinal);
        var arrays = new Dictionary<string, MatArray>(StringComparer.Ordinal);
        var seen = new List<(string, MatClass)>();
        long length = stream.Length;
        var file = new Cursor(stream, header.BigEndian, path, p => $"file offset {p}") { Position = HeaderLength, Limit = length };
        while (file.Position < length)
        {
            if (wanted is not null && wanted.All(arrays.ContainsKey)) break;
            long start = file.Position;
            if (length - start < 8)
            {
                // Trailing padding after the last element is harmless; anything else is a cut-off tag.
                var rest = new byte[length - start];
                file.Read(rest, "trailing bytes");
                if (rest.All(b => b == 0)) break;
                throw file.Bad(start, $"{rest.Length} bytes after the last element are too few for an element tag");
            }
            var tag = file.ReadTag();
            if (tag.Small is not null)
                throw file.Bad(start, $"a small data element (type {tag.Type}) at the top level, where only variables (miMATRIX/miCOMPRESSED) belong");
            long end = file.Position + tag.Size;
            if (end > length)
                throw file.Bad(start, $"the element claims {tag.Size} bytes but only {length - file.Position} remain");
            if (tag.Type == (uint)DataType.Compressed)
            {
                using (var bounded = new BoundedStream(stream, tag.Size))
                using (var zlib = new ZLibStream(bounded, CompressionMode.Decompress))
                {
                    long elementStart = start;
                    var inner = new Cursor(zlib, header.BigEndian, path, p => $"decompressed byte {p} of the compressed element at file offset {elementStart}");
                    try
                    {
                        inner.Limit = 8;
                        var innerTag = inner.ReadTag();
                        if (innerTag.Type != (uint)DataType.Matrix)
                            throw inner.Bad(0, $"the compressed element holds data type {innerTag.Type}, not miMATRIX (14)");
                        // The inflated size is only what the inner tag declares: bound it before inflating anything,
                        // and read no further than it (the rest of the stream is never decompressed).
                        long cap = DataLimits.MaxDatasetBytes;
                        if (innerTag.Size > cap)
                            throw inner.Bad(0, $"the compressed variable declares {innerTag.Size:N0} bytes when inflated, more than the limit of {cap:N0} bytes. {DataLimits.RaiseDatasetHint}");
                        inner.Limit = 8 + innerTag.Size;
                        ReadMatrix(inner, innerTag.Size, wanted, arrays, seen);
                    }
                    catch (InvalidDataException ex) when (ex.Message.IndexOf(path, StringComparison.Ordinal) < 0)
                    {
                        throw file.Bad(start, $"the compressed element does not decompress ({ex.Message})", ex);
                    }
                }
                stream.Position = end; // miCOMPRESSED elements are not padded
                file.Position = end;
            }
            else if (tag.Type == (uint)DataType.Matrix)
            {
                ReadMatrix(file, tag.Size, wanted, arrays, seen);
                file.Seek(end);
                file.SkipPadding(tag.Size);
            }
            else
            {
                throw file.Bad(start, $"a top-level element of data type {tag.Type}; only miMATRIX (14) and miCOMPRESSED (15) hold variables");
            }
        }
        return new MatFile(path, header, arrays, seen);
    }

    /// <summary>Bytes per element of a numeric storage type (0 for non-numeric types).</summary>
    internal static int SizeOf(DataType type) => type switch
    {
        DataType.Int8 or DataType.UInt8 => 1,
        DataType.Int16 or DataType.UInt16 => 2,
        DataType.Int32 or DataType.UInt32 or DataType.Single => 4,
        DataType.Int64 or DataType.UInt64 or DataType.Double => 8,
        _ => 0,
    };

    private static FileStream Open(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"MAT file not found: '{path}'.", path);
        return new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
    }

    private static MatFileHeader ReadHeader(Stream stream, string path)
    {
        var h = new byte[HeaderLength];
        int read = stream.ReadAtLeast(h, HeaderLength, throwOnEndOfStream: false);
        string Bad(string problem) => $"'{path}' is not a readable MAT v5 file: {problem}. {Fix}";
        if (read >= 8 && h[0] == 0x89 && h[1] == (byte)'H' && h[2] == (byte)'D' && h[3] == (byte)'F')
            throw new InvalidDataException(Bad("it is an HDF5 file (MATLAB v7.3), which is not supported; re-save it in MATLAB with save(file, '-v7')"));
        if (read < HeaderLength) throw new InvalidDataException(Bad($"the file has only {read} bytes, less than the {HeaderLength}-byte header"));
        string text = Encoding.ASCII.GetString(h, 0, 116).TrimEnd(' ', '\0');
        bool bigEndian;
        if (h[126] == (byte)'I' && h[127] == (byte)'M') bigEndian = false;
        else if (h[126] == (byte)'M' && h[127] == (byte)'I') bigEndian = true;
        else
            throw new InvalidDataException(Bad(
                $"the endian indicator at offset 126 is 0x{h[126]:x2}{h[127]:x2}, not \"IM\" or \"MI\"" +
                (text.StartsWith("MATLAB", StringComparison.Ordinal) ? "" : " (and the header text does not start with \"MATLAB\"; MATLAB v4 files are not supported)")));
        int version = bigEndian ? BinaryPrimitives.ReadUInt16BigEndian(h.AsSpan(124)) : BinaryPrimitives.ReadUInt16LittleEndian(h.AsSpan(124));
        if (version == 0x0200)
            throw new InvalidDataException(Bad("version 0x0200 is MATLAB v7.3 (HDF5), which is not supported; re-save it in MATLAB with save(file, '-v7')"));
        if (version != 0x0100)
            throw new InvalidDataException(Bad($"the version at offset 124 is 0x{version:x4}, not 0x0100"));
        var subsys = h.AsSpan(116, 8);
        long subsysOffset = subsys.IndexOfAnyExcept((byte)' ') < 0 ? 0
            : bigEndian ? BinaryPrimitives.ReadInt64BigEndian(subsys) : BinaryPrimitives.ReadInt64LittleEndian(subsys);
        return new MatFileHeader(text, version, bigEndian, subsysOffset);
    }

    /// <summary>Reads the contents (after the tag) of one miMATRIX element of <paramref name="size"/> bytes.</summary>
    private static void ReadMatrix(Cursor c, long size, HashSet<string>? wanted, Dictionary<string, MatArray> arrays, List<(string, MatClass)> seen)
    {
        if (size == 0) return; // an empty placeholder element
        long start = c.Position;
        if (size > c.Limit - start)
            throw c.Bad(start, $"the miMATRIX element claims {size:N0} bytes but only {c.Limit - start:N0} remain");
        long outerLimit = c.Limit;
        c.Limit = start + size; // no subelement may claim bytes beyond its element
        try
        {
            ReadMatrixContents(c, start, size, wanted, arrays, seen);
        }
        finally
        {
            c.Limit = outerLimit;
        }
    }

    private static void ReadMatrixContents(Cursor c, long start, long size, HashSet<string>? wanted, Dictionary<string, MatArray> arrays, List<(string, MatClass)> seen)
    {

        long at = c.Position;
        var flagsTag = c.ReadTag();
        var flags = c.ReadData(flagsTag, "array flags");
        if (flagsTag.Type != (uint)DataType.UInt32 || flags.Length != 8)
            throw c.Bad(at, $"the array-flags subelement has type {flagsTag.Type} and {flags.Length} bytes, not miUINT32 (6) and 8 bytes");
        uint word = c.U32(flags);
        var matClass = (MatClass)(word & 0xFF);
        bool complex = (word & 0x0800) != 0;
        if (!Enum.IsDefined(matClass))
        {
            // Other classes (e.g. MATLAB's opaque class 17 for string/table objects) have another layout: skip them whole.
            c.Skip(size - (c.Position - start));
            return;
        }

        at = c.Position;
        var dimsTag = c.ReadTag();
        var dimBytes = c.ReadData(dimsTag, "dimensions");
        if (dimsTag.Type != (uint)DataType.Int32 || dimBytes.Length < 8 || dimBytes.Length % 4 != 0)
            throw c.Bad(at, $"the dimensions subelement has type {dimsTag.Type} and {dimBytes.Length} bytes, not miINT32 (5) with at least 2 dimensions");
        var dims = new int[dimBytes.Length / 4];
        for (int i = 0; i < dims.Length; i++)
        {
            dims[i] = (int)c.U32(dimBytes.AsSpan(4 * i));
            if (dims[i] < 0) throw c.Bad(at, $"dimension {i} is {dims[i]}");
        }

        at = c.Position;
        var nameTag = c.ReadTag();
        var nameBytes = c.ReadData(nameTag, "array name");
        if (nameTag.Type != (uint)DataType.Int8 && nameTag.Type != (uint)DataType.UInt8)
            throw c.Bad(at, $"the array-name subelement has type {nameTag.Type}, not miINT8 (1)");
        string name = Encoding.ASCII.GetString(nameBytes);
        seen.Add((name, matClass));

        bool numeric = matClass >= MatClass.Double;
        if (!numeric || (wanted is not null && !wanted.Contains(name)))
        {
            c.Skip(size - (c.Position - start));
            return;
        }
        if (complex)
            throw c.Bad(at, $"variable '{name}' is complex; only real arrays are supported");

        at = c.Position;
        // Checked: many 31-bit dimensions can wrap a 64-bit product into a small, plausible count.
        long count = 1;
        try
        {
            foreach (int d in dims) count = checked(count * d);
        }
        catch (OverflowException)
        {
            throw c.Bad(at, $"variable '{name}': the dimensions {string.Join("×", dims)} overflow a 64-bit element count");
        }
        var realTag = c.ReadTag();
        var storage = (DataType)realTag.Type;
        int elementSize = SizeOf(storage);
        if (elementSize == 0)
            throw c.Bad(at, $"variable '{name}': the real part has data type {realTag.Type}, which is not numeric");
        if (count > long.MaxValue / elementSize || realTag.Size != count * elementSize)
            throw c.Bad(at, $"variable '{name}' of size {string.Join("×", dims)} needs {count} values ({count * elementSize} bytes as {storage}) but its real part holds {realTag.Size} bytes");
        if (realTag.Size > Math.Min(DataLimits.MaxDatasetBytes, Array.MaxLength))
            throw c.Bad(at, $"variable '{name}' holds {realTag.Size:N0} bytes, more than the limit of {Math.Min(DataLimits.MaxDatasetBytes, Array.MaxLength):N0} bytes. {DataLimits.RaiseDatasetHint}");
        var data = c.ReadData(realTag, $"the values of '{name}'");
        if (c.Position - start > size)
            throw c.Bad(start, $"variable '{name}': its subelements run past the end of the miMATRIX element ({size} bytes)");
        arrays[name] = new MatArray(c.Path, name, matClass, dims, data, storage, c.BigEndian);
    }

    private readonly record struct Tag(uint Type, long Size, byte[]? Small);

    /// <summary>Sequential reader over a file or decompressed stream, with byte order, position and error context.</summary>
    private sealed class Cursor(Stream stream, bool bigEndian, string path, Func<long, string> describe)
    {
        public long Position;

        /// <summary>The position no read may pass: the end of the file, of the inflated element or of the enclosing element.</summary>
        public long Limit = long.MaxValue;
        public string Path => path;
        public bool BigEndian => bigEndian;

        public uint U32(ReadOnlySpan<byte> b) => bigEndian ? BinaryPrimitives.ReadUInt32BigEndian(b) : BinaryPrimitives.ReadUInt32LittleEndian(b);

        public InvalidDataException Bad(long at, string problem, Exception? inner = null) =>
            new($"'{path}' is not a readable MAT v5 file: {problem} (at {describe(at)}). {Fix}", inner);

        public void Read(Span<byte> buffer, string what)
        {
            int read = stream.ReadAtLeast(buffer, buffer.Length, throwOnEndOfStream: false);
            long at = Position;
            Position += read;
            if (read < buffer.Length)
                throw Bad(at, $"the data ends while reading {what} ({read} of {buffer.Length} bytes present)");
        }

        public Tag ReadTag()
        {
            long at = Position;
            Span<byte> b = stackalloc byte[8];
            Read(b, "an element tag");
            uint first = U32(b);
            if ((first >> 16) != 0)
            {
                // Small data element: type in the low 16 bits, byte count (at most 4) in the high 16, data in bytes 4..7.
                uint count = first >> 16;
                if (count > 4) throw Bad(at, $"a small data element claims {count} bytes (at most 4 fit)");
                return new Tag(first & 0xFFFF, count, b.Slice(4, (int)count).ToArray());
            }
            return new Tag(first, U32(b.Slice(4)), null);
        }

        public byte[] ReadData(Tag tag, string what)
        {
            if (tag.Small is not null) return tag.Small;
            long at = Position;
            // Declared sizes are checked against the bytes that can be present before anything is allocated.
            if (tag.Size > Limit - Position)
                throw Bad(at, $"{what} claims {tag.Size:N0} bytes but its element has only {Limit - Position:N0} left");
            long cap = Math.Min(DataLimits.MaxDatasetBytes, Array.MaxLength);
            if (tag.Size > cap) throw Bad(at, $"{what} claims {tag.Size:N0} bytes, more than the limit of {cap:N0}. {DataLimits.RaiseDatasetHint}");
            byte[] data;
            if (stream.CanSeek)
            {
                data = new byte[tag.Size];
                Read(data, what);
            }
            else
            {
                // An inflating stream: the buffer grows with the bytes that actually arrive.
                data = BoundedRead.Exactly(stream, tag.Size, out long read)
                    ?? throw Bad(at, $"the data ends while reading {what} ({read:N0} of {tag.Size:N0} bytes present)");
                Position += tag.Size;
            }
            SkipPadding(tag.Size);
            return data;
        }

        public void SkipPadding(long size) => Skip((8 - size % 8) % 8);

        public void Seek(long position)
        {
            stream.Position = position;
            Position = position;
        }

        public void Skip(long count)
        {
            if (count < 0) throw Bad(Position, "the subelements run past the end of their miMATRIX element");
            if (count == 0) return;
            if (count > Limit - Position) throw Bad(Position, $"{count:N0} bytes to skip but only {Limit - Position:N0} remain in the element");
            if (stream.CanSeek)
            {
                if (stream.Position + count > stream.Length) throw Bad(Position, $"{count} bytes to skip but only {stream.Length - stream.Position} remain");
                stream.Seek(count, SeekOrigin.Current);
                Position += count;
                return;
            }
            var buffer = new byte[(int)Math.Min(count, 1 << 16)];
            while (count > 0)
            {
                int n = (int)Math.Min(count, buffer.Length);
                Read(buffer.AsSpan(0, n), "skipped data");
                count -= n;
            }
        }
    }

    /// <summary>A read-only view of the next <c>length</c> bytes of a stream, so a decompressor cannot read past its element.</summary>
    private sealed class BoundedStream(Stream inner, long length) : Stream
    {
        private long _remaining = length;

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            if (_remaining == 0) return 0;
            int n = inner.Read(buffer.Slice(0, (int)Math.Min(buffer.Length, _remaining)));
            _remaining -= n;
            return n;
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
