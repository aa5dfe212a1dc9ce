namespace DqMlNet.Data;

/// <summary>
/// Reads of untrusted streams that never hold more memory than the data actually present: the buffer grows with the
/// bytes read (up to the declared size), so a header that declares a huge size over a short stream costs nothing, and
/// a stream that holds more than it declares (a decompression bomb) is refused after one extra byte.
/// </summary>
internal static class BoundedRead
{
    private const int Chunk = 1 << 20;

    /// <summary>
    /// Reads exactly <paramref name="length"/> bytes; returns null when the stream ends early (with the count read in
    /// <paramref name="read"/>).
    /// </summary>
    public static byte[]? Exactly(Stream stream, long length, out long read)
    {
        if (length < 0 || length > Array.MaxLength) throw new ArgumentOutOfRangeException(nameof(length), length, "Not a valid array length.");
        // Start small and double: memory follows the data present, not the size declared.
        var buffer = new byte[(int)Math.Min(length, Chunk)];
        int filled = 0;
        while (filled < length)
        {
            if (filled == buffer.Length)
                Array.Resize(ref buffer, (int)Math.Min(length, (long)buffer.Length * 2));
            int n = stream.Read(buffer, filled, buffer.Length - filled);
            if (n == 0)
            {
                read = filled;
                return null;
            }
            filled += n;
        }
        read = filled;
        return buffer;
    }

    /// <summary>Whether the stream has no more data (reads at most one byte).</summary>
    public static bool AtEnd(Stream stream)
    {
        Span<byte> one = stackalloc byte[1];
        return stream.Read(one) == 0;
    }

    /// <summary>
    /// Copies <paramref name="source"/> to <paramref name="target"/> but throws <see cref="InvalidDataException"/>
    /// (from <paramref name="tooLarge"/>) as soon as more than <paramref name="max"/> bytes arrive.
    /// </summary>
    public static long CopyAtMost(Stream source, Stream target, long max, Func<InvalidDataException> tooLarge)
    {
        var buffer = new byte[81920];
        long total = 0;
        int n;
        while ((n = source.Read(buffer, 0, buffer.Length)) > 0)
        {
            total += n;
            if (total > max) throw tooLarge();
            target.Write(buffer, 0, n);
        }
        return total;
    }
}
