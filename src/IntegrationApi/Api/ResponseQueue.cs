using Grpc.Core;

namespace IntegrationApi.Api;

/// <summary>
/// The one way out of a <c>StreamChat</c> call for many producers (request tasks, the reader's refusals), without a
/// writer task: the producer that finds the stream idle writes its message itself, then whatever the others queued
/// meanwhile, so a lone delta leaves without a hop to another thread (on a busy core every hop is a context switch).
/// <list type="bullet">
/// <item>Order: messages leave in the order they were queued; one producer's messages keep their order.</item>
/// <item>Backpressure: at most <c>capacity</c> messages are queued or being written; past that a producer waits
/// (a request's upstream reads pause), never drops: a lost delta corrupts the answer.</item>
/// <item>Batching: while more messages are queued, writes are buffered and the last one flushes them together (and
/// every <see cref="MaxUnflushedWrites"/>th, so that busy producers cannot hold written messages back).</item>
/// <item>Failure: the first failed write (the client is gone) closes the queue: later messages are dropped, producers
/// get <see cref="System.Threading.Channels.ChannelClosedException"/>, and <c>onFailure</c> stops the call.</item>
/// </list>
/// </summary>
internal sealed class ResponseQueue<T> where T : class
{
    private static readonly WriteOptions Buffered = new(WriteFlags.BufferHint);

    /// <summary>A flush at least every this many messages: while producers keep the queue from emptying, what was written still leaves.</summary>
    internal const int MaxUnflushedWrites = 32;

    private readonly IServerStreamWriter<T> _stream;
    private readonly CancellationToken _callAborted;
    private readonly Action _onFailure;
    private readonly Action _onSent;
    private readonly SemaphoreSlim _space;
    private readonly Queue<T> _queue = new();     // guarded by itself
    private bool _writing;                         // a producer is writing the queue out (guarded by _queue)
    private int _unflushed;                        // messages written since the last flush (only the writer touches it)
    private Exception? _failure;
    private TaskCompletionSource? _drained;        // set by CompleteAsync while a producer is still writing

    public ResponseQueue(IServerStreamWriter<T> stream, int capacity, CancellationToken callAborted, Action onFailure, Action onSent)
    {
        (_stream, _callAborted, _onFailure, _onSent) = (stream, callAborted, onFailure, onSent);
        _space = new SemaphoreSlim(capacity, capacity);
    }

    /// <summary>Queues <paramref name="message"/>; writes it (and what follows it) when nobody else is writing.</summary>
    public ValueTask WriteAsync(T message, CancellationToken cancellationToken)
    {
        if (Volatile.Read(ref _failure) is { } failure) return ValueTask.FromException(Closed(failure));
        if (!_space.Wait(0)) return WaitForSpaceAsync(message, cancellationToken);
        return Enqueue(message) ? DrainAsync() : ValueTask.CompletedTask;
    }

    private async ValueTask WaitForSpaceAsync(T message, CancellationToken cancellationToken)
    {
        await _space.WaitAsync(cancellationToken).ConfigureAwait(false);
        if (Enqueue(message)) await DrainAsync().ConfigureAwait(false);
    }

    /// <summary>Queues the message; true when the caller is now the writer.</summary>
    private bool Enqueue(T message)
    {
        lock (_queue)
        {
            _queue.Enqueue(message);
            if (_writing) return false;
            _writing = true;
            return true;
        }
    }

    /// <summary>Writes until the queue is empty. Never throws: a failure is recorded and reported through onFailure.</summary>
    private async ValueTask DrainAsync()
    {
        while (true)
        {
            T message;
            bool more;
            TaskCompletionSource? drained;
            lock (_queue)
            {
                if (!_queue.TryDequeue(out message!))
                {
                    _writing = false;
                    drained = _drained;
                    _drained = null;
                    more = false;
                }
                else
                {
                    drained = null;
                    more = _queue.Count > 0;
                }
            }
            if (message is null)
            {
                drained?.TrySetResult();
                return;
            }
            try
            {
                if (Volatile.Read(ref _failure) is null)
                {
                    // Flush when nothing else is queued (bursts go out in one write, a lone delta at once), and at
                    // least every MaxUnflushedWrites messages.
                    var flush = !more || ++_unflushed >= MaxUnflushedWrites;
                    if (flush) _unflushed = 0;
                    _stream.WriteOptions = flush ? null : Buffered;
                    await _stream.WriteAsync(message, _callAborted).ConfigureAwait(false);
                    _onSent();
                }
            }
            catch (Exception ex)
            {
                // The client is gone or the call was cancelled: everything still queued is dropped.
                if (Interlocked.CompareExchange(ref _failure, ex, null) is null) _onFailure();
            }
            finally
            {
                _space.Release();
            }
        }
    }

    /// <summary>Completes when everything queued so far is written (or dropped after a failure).</summary>
    public Task CompleteAsync()
    {
        lock (_queue)
        {
            if (!_writing) return Task.CompletedTask;
            _drained ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            return _drained.Task;
        }
    }

    private static System.Threading.Channels.ChannelClosedException Closed(Exception failure) => new("the response stream is closed", failure);
}
