using System.Runtime.CompilerServices;
using Grpc.Core;
using Grpc.Net.Client;
using IntegrationApi.Contracts;

namespace IntegrationApi.Client;

/// <summary>
/// A client of the Integration API's <c>LlmService</c> that runs many chats over a few persistent
/// <c>StreamChat</c> calls: each request is tagged with its own <c>clientRequestId</c>, cancelling its
/// token cancels that request alone, a stream that ends is replaced for new requests, and a server
/// without bidirectional streaming is served by unary <c>Chat</c>.
/// </summary>
public sealed partial class IntegrationClient : IAsyncDisposable
{
    private readonly LlmService.LlmServiceClient _client;
    private readonly IntegrationClientOptions _options;
    private readonly List<StreamConnection> _streams = [];
    private readonly Lock _lock = new();
    private readonly string _idPrefix = Guid.NewGuid().ToString("N")[..8];
    private long _nextId;
    private int _streamsOpened;
    private long _resent;
    private volatile bool _unaryOnly;

    public IntegrationClient(GrpcChannel channel, IntegrationClientOptions? options = null)
    {
        _client = new LlmService.LlmServiceClient(channel);
        _options = options ?? new IntegrationClientOptions();
    }

    /// <summary>A channel with HTTP/2 keepalive pings, so idle streams survive proxies and dead peers are noticed.</summary>
    public static GrpcChannel CreateChannel(string address, TimeSpan? keepAlivePingDelay = null) =>
        GrpcChannel.ForAddress(address, new GrpcChannelOptions
        {
            HttpHandler = new SocketsHttpHandler
            {
                KeepAlivePingDelay = keepAlivePingDelay ?? TimeSpan.FromSeconds(30),
                KeepAlivePingTimeout = TimeSpan.FromSeconds(10),
                KeepAlivePingPolicy = HttpKeepAlivePingPolicy.Always,
                PooledConnectionIdleTimeout = Timeout.InfiniteTimeSpan,
                EnableMultipleHttp2Connections = true,
            },
        });

    /// <summary>Streams currently open (for tests and diagnostics).</summary>
    public int OpenStreams { get { lock (_lock) return _streams.Count(s => s.IsOpen); } }

    /// <summary>Streams opened since the client was made (reconnects count).</summary>
    public int StreamsOpened => Volatile.Read(ref _streamsOpened);

    /// <summary>Requests re-sent on a new stream because theirs ended or drained before their first delta.</summary>
    public long Resent => Interlocked.Read(ref _resent);

    /// <summary>True once the server answered StreamChat with Unimplemented and the client fell back to unary Chat.</summary>
    public bool UsesUnaryFallback => _unaryOnly;

    /// <summary>The complete answer: the request's terminal response (<c>success=false</c> with a code when it failed).</summary>
    public async Task<ChatResponse> ChatAsync(ChatRequest request, CancellationToken cancellationToken = default)
    {
        await foreach (var response in StreamAsync(request, cancellationToken).ConfigureAwait(false))
            if (response.FinishReason.Length > 0) return response;
        throw new InvalidOperationException("the request ended without a terminal response");
    }

    /// <summary>
    /// Every response of the request as it arrives: deltas, then the terminal one (last). Cancelling
    /// <paramref name="cancellationToken"/> sends CANCEL for this request only and throws <see cref="OperationCanceledException"/>.
    /// </summary>
    public async IAsyncEnumerable<ChatResponse> StreamAsync(ChatRequest request, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        for (var attempt = 0; ; attempt++)
        {
            if (_unaryOnly)
            {
                yield return await _client.ChatAsync(request, _options.Headers(), cancellationToken: cancellationToken).ConfigureAwait(false);
                yield break;
            }
            var tagged = request.Clone();
            tagged.ClientRequestId = $"{_idPrefix}-{Interlocked.Increment(ref _nextId)}";
            var stream = Acquire();
            var pending = stream.Send(tagged);
            using (cancellationToken.Register(static s => { var (c, id) = ((StreamConnection, string))s!; c.Cancel(id); }, (stream, tagged.ClientRequestId)))
            {
                await foreach (var response in ReadAsync(pending, cancellationToken).ConfigureAwait(false))
                    yield return response;
            }
            if (pending.Failure is not { } failure) yield break; // the terminal was the last response
            if (failure.StatusCode == StatusCode.Unimplemented)
            {
                _unaryOnly = true; // an old server: unary Chat from now on; nothing was produced yet
                continue;
            }
            if (!pending.Started && _options.ResendBeforeFirstDelta && attempt < _options.MaxResends)
            {
                Interlocked.Increment(ref _resent);
                continue;
            }
            var why = pending.Started ? "it was not re-sent because it had started answering" : $"it had been re-sent {attempt} times already";
            throw new IntegrationStreamException($"the stream ended before the request finished ({failure.StatusCode}: {failure.Detail}); {why}", failure, pending.Started);
        }
    }

    private static async IAsyncEnumerable<ChatResponse> ReadAsync(PendingRequest pending, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        while (await pending.Responses.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
            while (pending.Responses.TryRead(out var response))
                yield return response;
    }

    /// <summary>The least busy open stream under the cap; a new stream when all are full and the pool has room.</summary>
    private StreamConnection Acquire()
    {
        lock (_lock)
        {
            _streams.RemoveAll(s => !s.IsOpen);
            StreamConnection? best = null;
            foreach (var s in _streams)
                if (best is null || s.InFlight < best.InFlight) best = s;
            if (best is not null && (best.InFlight < _options.MaxInFlightPerStream || _streams.Count >= _options.MaxStreams)) return best;
            var opened = new StreamConnection(_client, _options.Headers());
            Interlocked.Increment(ref _streamsOpened);
            _streams.Add(opened);
            return opened;
        }
    }

    /// <summary>Half-closes every stream and waits for the requests in flight to finish.</summary>
    public async ValueTask DisposeAsync()
    {
        StreamConnection[] streams;
        lock (_lock)
        {
            streams = [.. _streams];
            _streams.Clear();
        }
        foreach (var s in streams) s.Close();
        await Task.WhenAll(streams.Select(s => s.Completion)).ConfigureAwait(false);
    }
}
