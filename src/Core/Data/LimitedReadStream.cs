namespace DqMlNet.Data;

/// <summary>
/// A read-only, forward-only view of a stream that throws the given <see cref="InvalidDataException"/> once more than
/// a set number of bytes has been read through it: the total budget of a decompression (a tar.gz archive), so a small
/// archive cannot make a reader inflate gigabytes, not even of entries it skips.
/// </summary>
internal sealed class LimitedReadStream(Stream inner, long limit, Func<long, InvalidDataException> tooMuch) : Stream
{
    private long read;

    /// <summary>Bytes read so far.</summary>
    public long BytesRead => read;

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => read; set => throw new NotSupportedException(); }
    public override void Flush() { }
    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        int n = inner.Read(buffer);
        read += n;
        if (read > limit) throw tooMuch(limit);
        return n;
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
