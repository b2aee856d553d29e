using System.Runtime.CompilerServices;
using Grpc.Core;
using Grpc.Core.Interceptors;
using Grpc.Net.Client;
using IntegrationApi.Contracts;

namespace IntegrationApi.Client;

/// <summary>
/// A client of the Integration API's <c>LlmService</c> that runs many chats over a few persistent
/// <c>StreamChat</c> calls: each request is tagged with its own <c>clientRequestId</c>, cancelling its
/// token cancels that request alone, a stream that ends is replaced for new requests, and a server
/// without bidirectional streaming is served by unary <c>Chat</c>.
/// </summary>
public sealed partial class IntegrationClient : IAsyncDisposable, IDisposable
{
    private readonly LlmService.LlmServiceClient _client;
    private readonly CallInvoker _invoker;
    private readonly IntegrationClientOptions _options;
    private readonly string _address;
    private readonly GrpcChannel? _ownedChannel;
    private readonly List<StreamConnection> _streams = [];
    private readonly Lock _lock = new();
    private readonly string _idPrefix = Guid.NewGuid().ToString("N")[..8];
    private long _nextId;
    private int _streamsOpened;
    private long _resent;
    private volatile bool _unaryOnly;

    /// <summary>A client on <paramref name="channel"/> (which the caller keeps and disposes).</summary>
    public IntegrationClient(GrpcChannel channel, IntegrationClientOptions? options = null)
        : this(channel.CreateCallInvoker(), options, (channel ?? throw new ArgumentNullException(nameof(channel))).Target)
    {
    }

    /// <summary>
    /// A client on any <see cref="CallInvoker"/> (an intercepted one, a test double, another transport);
    /// <paramref name="address"/> only names the service in connection errors.
    /// </summary>
    public IntegrationClient(CallInvoker callInvoker, IntegrationClientOptions? options = null, string? address = null)
    {
        ArgumentNullException.ThrowIfNull(callInvoker);
        _options = options ?? new IntegrationClientOptions();
        _address = address ?? "the service";
        // CallCredentials (async auth: a token provider) ride on every call, streams included.
        _invoker = _options.CallCredentials is { } credentials ? callInvoker.Intercept(new CredentialsInterceptor(credentials)) : callInvoker;
        _client = new LlmService.LlmServiceClient(_invoker);
    }

    /// <summary>A client that owns a channel to <paramref name="address"/> (made by <see cref="CreateChannel"/>; disposed with the client).</summary>
    public IntegrationClient(string address, IntegrationClientOptions? options = null)
        : this(CreateChannel(address, allowInsecureCallCredentials: options?.AllowInsecureCallCredentials ?? false), options, owned: true)
    {
    }

    private IntegrationClient(GrpcChannel channel, IntegrationClientOptions? options, bool owned) : this(channel, options) => _ownedChannel = owned ? channel : null;

    /// <summary>
    /// A channel with HTTP/2 keepalive pings, so idle streams survive proxies and dead peers are noticed.
    /// <paramref name="address"/> must be an absolute <c>http://</c> or <c>https://</c> URL (else <see cref="ArgumentException"/>).
    /// <paramref name="allowInsecureCallCredentials"/> lets <see cref="IntegrationClientOptions.CallCredentials"/> ride on plain
    /// <c>http://</c> (gRPC drops them there otherwise): for loopback and tests only.
    /// </summary>
    public static GrpcChannel CreateChannel(string address, TimeSpan? keepAlivePingDelay = null, bool allowInsecureCallCredentials = false) =>
        GrpcChannel.ForAddress(ValidateAddress(address), new GrpcChannelOptions
        {
            UnsafeUseInsecureChannelCallCredentials = allowInsecureCallCredentials,
            HttpHandler = new SocketsHttpHandler
            {
                KeepAlivePingDelay = keepAlivePingDelay ?? TimeSpan.FromSeconds(30),
                KeepAlivePingTimeout = TimeSpan.FromSeconds(10),
                KeepAlivePingPolicy = HttpKeepAlivePingPolicy.Always,
                PooledConnectionIdleTimeout = Timeout.InfiniteTimeSpan,
                EnableMultipleHttp2Connections = true,
            },
        });

    /// <summary>The address as a URI, or an <see cref="ArgumentException"/> that names it and says what is expected.</summary>
    public static Uri ValidateAddress(string address)
    {
        if (string.IsNullOrWhiteSpace(address))
            throw new ArgumentException("the service address is empty; expected e.g. http://127.0.0.1:9004", nameof(address));
        if (!Uri.TryCreate(address, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps) || uri.Host.Length == 0)
            throw new ArgumentException($"the service address \"{address}\" is not an http:// or https:// URL; expected e.g. http://127.0.0.1:9004 or https://{address.Split('/')[0]}", nameof(address));
        return uri;
    }

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
            try
            {
                using (cancellationToken.Register(static s => { var (c, id) = ((StreamConnection, string))s!; c.Cancel(id); }, (stream, tagged.ClientRequestId)))
                {
                    await foreach (var response in ReadAsync(pending, cancellationToken).ConfigureAwait(false))
                        yield return response;
                }
            }
            finally
            {
                // The caller abandoned the enumeration (break, an exception, disposal) before the terminal: CANCEL this
                // request upstream so the provider stops generating. After a terminal or a failure this is a no-op.
                stream.Cancel(tagged.ClientRequestId);
            }
            if (pending.Failure is not { } failure) yield break; // the terminal was the last response
            if (failure.StatusCode == StatusCode.Unimplemented)
            {
                _unaryOnly = true; // an old server: unary Chat from now on; nothing was produced yet
                continue;
            }
            if (failure.StatusCode is StatusCode.Unauthenticated or StatusCode.PermissionDenied)
                throw new IntegrationStreamException(
                    $"the service at {_address} refused the caller ({failure.StatusCode}: {failure.Detail}); check the API key or token (not re-sent)", failure, pending.Started);
            if (!pending.Started && _options.ResendBeforeFirstDelta && attempt < _options.MaxResends)
            {
                Interlocked.Increment(ref _resent);
                continue;
            }
            if (!pending.Started && failure.StatusCode == StatusCode.Unavailable)
                throw new IntegrationStreamException($"could not reach the service at {_address} ({failure.Detail}); tried {attempt + 1} times", failure);
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
    /// <summary>
    /// Half-closes every stream and disposes the channel this client owns without waiting: requests still running on an
    /// owned channel end cancelled. Prefer <see cref="DisposeAsync"/>, which lets them finish; this one serves containers
    /// disposed synchronously.
    /// </summary>
    public void Dispose()
    {
        StreamConnection[] streams;
        lock (_lock)
        {
            streams = [.. _streams];
            _streams.Clear();
        }
        foreach (var s in streams) s.Close();
        _ownedChannel?.Dispose();
    }

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
        _ownedChannel?.Dispose();
    }

    /// <summary>Puts the configured <see cref="CallCredentials"/> on every call.</summary>
    private sealed class CredentialsInterceptor(CallCredentials credentials) : Interceptor
    {
        private ClientInterceptorContext<TRequest, TResponse> With<TRequest, TResponse>(ClientInterceptorContext<TRequest, TResponse> context)
            where TRequest : class where TResponse : class =>
            new(context.Method, context.Host, context.Options.WithCredentials(context.Options.Credentials is { } own ? CallCredentials.Compose(own, credentials) : credentials));

        public override AsyncUnaryCall<TResponse> AsyncUnaryCall<TRequest, TResponse>(TRequest request, ClientInterceptorContext<TRequest, TResponse> context,
            AsyncUnaryCallContinuation<TRequest, TResponse> continuation) => continuation(request, With(context));

        public override AsyncDuplexStreamingCall<TRequest, TResponse> AsyncDuplexStreamingCall<TRequest, TResponse>(ClientInterceptorContext<TRequest, TResponse> context,
            AsyncDuplexStreamingCallContinuation<TRequest, TResponse> continuation) => continuation(With(context));

        public override AsyncServerStreamingCall<TResponse> AsyncServerStreamingCall<TRequest, TResponse>(TRequest request, ClientInterceptorContext<TRequest, TResponse> context,
            AsyncServerStreamingCallContinuation<TRequest, TResponse> continuation) => continuation(request, With(context));

        public override TResponse BlockingUnaryCall<TRequest, TResponse>(TRequest request, ClientInterceptorContext<TRequest, TResponse> context,
            BlockingUnaryCallContinuation<TRequest, TResponse> continuation) => continuation(request, With(context));
    }
}
