namespace IntegrationApi.Providers;

/// <summary>
/// A read-only stream that throws a <see cref="ProviderException"/> (502, not retried) once more than
/// <c>maxBytes</c> were read, or more than <c>maxLineBytes</c> since the last line end (LF or CR).
/// </summary>
internal sealed class LimitedReadStream(Stream inner, IDisposable owner, string provider, long maxBytes, int maxLineBytes) : Stream
{
    private long _total;
    private long _line;

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => _total; set => throw new NotSupportedException(); }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer) => Count(buffer[..inner.Read(buffer)]);

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        var read = await inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
        return Count(buffer.Span[..read]);
    }

    private int Count(ReadOnlySpan<byte> read)
    {
        _total += read.Length;
        if (_total > maxBytes) throw TooLarge("answer", maxBytes);
        var firstEnd = read.IndexOfAny((byte)'\n', (byte)'\r');
        if (firstEnd < 0)
        {
            _line += read.Length;
        }
        else
        {
            if (_line + firstEnd > maxLineBytes) throw TooLarge("answer line", maxLineBytes);
            var lastEnd = read.LastIndexOfAny((byte)'\n', (byte)'\r');
            // Lines that start and end inside this read can be too long only if the read itself is.
            if (read.Length > maxLineBytes) CheckLines(read[(firstEnd + 1)..lastEnd]);
            _line = read.Length - lastEnd - 1;
        }
        if (_line > maxLineBytes) throw TooLarge("answer line", maxLineBytes);
        return read.Length;
    }

    private void CheckLines(ReadOnlySpan<byte> lines)
    {
        while (!lines.IsEmpty)
        {
            var end = lines.IndexOfAny((byte)'\n', (byte)'\r');
            if ((end < 0 ? lines.Length : end) > maxLineBytes) throw TooLarge("answer line", maxLineBytes);
            if (end < 0) return;
            lines = lines[(end + 1)..];
        }
    }

    private ProviderException TooLarge(string what, long limit) =>
        new(ProviderErrorKind.BadResponse, provider, $"{provider}: {what} larger than {limit} bytes", retryable: false);

    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            inner.Dispose();
            owner.Dispose();
        }
        base.Dispose(disposing);
    }
}
