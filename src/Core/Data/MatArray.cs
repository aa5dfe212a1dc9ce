using System.Buffers.Binary;

namespace DqMlNet.Data;

/// <summary>
/// A real numeric array read from a MAT v5 file: its name, MATLAB class, dimensions and values in MATLAB's
/// column-major (Fortran) order — element (i0, i1, …) is at i0 + d0·(i1 + d1·(i2 + …)).
/// </summary>
public sealed class MatArray
{
    private readonly byte[] _raw;
    private readonly MatV5Reader.DataType _storage;
    private readonly bool _bigEndian;

    internal MatArray(string file, string name, MatClass matClass, int[] dimensions, byte[] raw, MatV5Reader.DataType storage, bool bigEndian)
    {
        File = file;
        Name = name;
        Class = matClass;
        Dimensions = dimensions;
        _raw = raw;
        _storage = storage;
        _bigEndian = bigEndian;
        Length = dimensions.Aggregate(1L, (a, d) => checked(a * d)); // validated by the reader; checked all the same
    }

    /// <summary>The file the array was read from (for messages).</summary>
    public string File { get; }

    /// <summary>The variable name.</summary>
    public string Name { get; }

    /// <summary>The MATLAB class (what <c>class(x)</c> says in MATLAB).</summary>
    public MatClass Class { get; }

    /// <summary>The dimensions (at least two, as in MATLAB).</summary>
    public IReadOnlyList<int> Dimensions { get; }

    /// <summary>Number of elements (product of the dimensions).</summary>
    public long Length { get; }

    /// <summary>The element at column-major <paramref name="index"/> as a double (exact for every class except large 64-bit integers).</summary>
    public double GetDouble(long index)
    {
        if ((ulong)index >= (ulong)Length) throw new ArgumentOutOfRangeException(nameof(index), index, $"'{Name}' has {Length} elements.");
        int size = MatV5Reader.SizeOf(_storage);
        var b = _raw.AsSpan((int)(index * size), size);
        bool be = _bigEndian;
        return _storage switch
        {
            MatV5Reader.DataType.Int8 => (sbyte)b[0],
            MatV5Reader.DataType.UInt8 => b[0],
            MatV5Reader.DataType.Int16 => be ? BinaryPrimitives.ReadInt16BigEndian(b) : BinaryPrimitives.ReadInt16LittleEndian(b),
            MatV5Reader.DataType.UInt16 => be ? BinaryPrimitives.ReadUInt16BigEndian(b) : BinaryPrimitives.ReadUInt16LittleEndian(b),
            MatV5Reader.DataType.Int32 => be ? BinaryPrimitives.ReadInt32BigEndian(b) : BinaryPrimitives.ReadInt32LittleEndian(b),
            MatV5Reader.DataType.UInt32 => be ? BinaryPrimitives.ReadUInt32BigEndian(b) : BinaryPrimitives.ReadUInt32LittleEndian(b),
            MatV5Reader.DataType.Int64 => be ? BinaryPrimitives.ReadInt64BigEndian(b) : BinaryPrimitives.ReadInt64LittleEndian(b),
            MatV5Reader.DataType.UInt64 => be ? BinaryPrimitives.ReadUInt64BigEndian(b) : BinaryPrimitives.ReadUInt64LittleEndian(b),
            MatV5Reader.DataType.Single => be ? BinaryPrimitives.ReadSingleBigEndian(b) : BinaryPrimitives.ReadSingleLittleEndian(b),
            MatV5Reader.DataType.Double => be ? BinaryPrimitives.ReadDoubleBigEndian(b) : BinaryPrimitives.ReadDoubleLittleEndian(b),
            _ => throw new InvalidOperationException($"Unexpected storage type {_storage}."),
        };
    }

    /// <summary>All elements as doubles, column-major.</summary>
    public double[] ToDoubleArray()
    {
        var values = new double[Length];
        for (long i = 0; i < Length; i++) values[i] = GetDouble(i);
        return values;
    }

    /// <summary>
    /// All elements as bytes, column-major. Throws <see cref="InvalidDataException"/> naming the file, variable and
    /// element when a value is not an integer in 0–255.
    /// </summary>
    public byte[] ToByteArray()
    {
        if (_storage == MatV5Reader.DataType.UInt8) return (byte[])_raw.Clone();
        var values = new byte[Length];
        for (long i = 0; i < Length; i++)
        {
            double v = GetDouble(i);
            if (!(v >= 0 && v <= 255 && v == Math.Floor(v)))
                throw new InvalidDataException($"'{File}': variable '{Name}' element {i} is {v}, not an integer in 0–255.");
            values[i] = (byte)v;
        }
        return values;
    }

    /// <summary>The stored bytes without a copy when the data is stored as uint8, else null.</summary>
    internal byte[]? RawUInt8 => _storage == MatV5Reader.DataType.UInt8 ? _raw : null;
}
