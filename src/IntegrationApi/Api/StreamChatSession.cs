using System.Collections.Concurrent;
using System.Diagnostics;
using System.Threading.Channels;
using System.Threading.RateLimiting;
using Grpc.Core;
using IntegrationApi.Audit;
using IntegrationApi.Engine;
using IntegrationApi.Auth;
using IntegrationApi.Chat;
using IntegrationApi.Telemetry;
using Microsoft.Extensions.Logging;
using Proto = IntegrationApi.Contracts;

namespace IntegrationApi.Api;

/// <summary>
/// One bidirectional <c>StreamChat</c> call: one reader, one task per request, one response queue.
/// <code>
///   client ──► reader loop ──┬─ CANCEL ────────────► cancel that request's token
///                            ├─ tagged CHAT ───────► slot (or wait, or 429) ─► request task ─┐
///                            ├─ untagged CHAT ─────► serial lane (one at a time, in order) ──┤
///                            └─ bad / 409 / 503 ───► terminal at once ───────────────────────┤
///                                                                                            ▼
///   client ◄── ResponseQueue: the producer that finds it idle writes (bounded: full ⇒ request tasks wait ⇒ upstream reads pause)
/// </code>
/// 1. Authentication already happened (interceptor); a principal whose token expired gets a 401 per request.
/// 2. Every accepted CHAT gets a fresh request id and exactly one terminal response, whatever happens.
/// 3. Each request has its own token, linked to the call's: a CANCEL aborts one request, the end of the
///    call aborts them all.
/// 4. Client half-close: stop reading, let the requests finish, wait until the response queue is written out, end OK.
/// 5. Drain (server shutdown or maximum stream age, jittered per stream): new requests get 503 "draining" (not run:
///    the client re-sends them on a new stream); the running ones have <see cref="EngineOptions.DrainTimeout"/> to
///    finish, then are cancelled with 503; after <see cref="EngineOptions.DrainLinger"/> for the client to half-close,
///    the call ends OK with the trailer <see cref="StreamEndTrailer"/>.
/// </summary>
internal sealed partial class StreamChatSession
{
    /// <summary>Trailer of a call the server ended so that the client reopens: <c>max-age</c> or <c>shutdown</c> (docs/contract.md §3).</summary>
    public const string StreamEndTrailer = "integration-api-stream-end";

    private readonly ChatEngine _engine;
    private readonly ChatRouting _routing;
    private readonly RequestIdGenerator _ids;
    private readonly EngineOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly IAsyncStreamReader<Proto.ChatRequest> _requests;
    private readonly CallerPrincipal _principal;
    private readonly string? _serviceProvider;
    private readonly Metrics.GatewayMetrics _metrics;
    private readonly IPrincipalLimiter _principalLimiter;
    private readonly TokenBucketRateLimiter? _rate;
    private readonly AuditTrail _audit;
    private readonly CallerAuthenticator _authenticator;
    private readonly Pricing.CallPricer? _pricer;
    private readonly IReadOnlyDictionary<string, string> _callTags;
    private readonly ActivityContext _callerTrace;           // the caller's traceparent: each request's parent
    private readonly string _method;
    private ActivityContext _streamTrace;                    // the stream span: each request links to it
    private long _accepted;

    private readonly ResponseQueue<Proto.ChatResponse> _out;
    // The serial lane: untagged requests in arrival order, one at a time. It has a runner only while it has requests
    // (an idle stream holds no task, channel or buffer for it); the queue, created by the first untagged request, is its lock.
    private Queue<ActiveRequest>? _laneQueue;
    private bool _laneRunning;                                 // a runner is draining _laneQueue (under its lock)
    // One lock and a few buckets each (they grow when needed): most streams hold a request or two at a time, and an
    // idle stream's memory is mostly these structures (bench/results/idle-streams.md).
    private ConcurrentDictionary<string, ActiveRequest>? _tagged;   // created by the reader at the first tagged CHAT
    private static ConcurrentDictionary<string, ActiveRequest> NewTaggedMap() => new(concurrencyLevel: 1, capacity: 4, StringComparer.Ordinal);
    private readonly ConcurrentDictionary<ulong, ActiveRequest> _active = new(concurrencyLevel: 1, capacity: 4);
    private readonly SemaphoreSlim _slots;
    private readonly CancellationTokenSource _abort;          // the call is gone: abort everything
    private readonly CancellationTokenSource _stopReading;   // stop reading (drained), or the call is gone: linked to _abort
    private int _waiting;                                      // requests waiting for a slot or in the serial lane
    private int _draining;
    private string? _drainReason;                            // the StreamEndTrailer value once draining
    private readonly Metadata _trailers;

    /// <summary>A session for one call; <paramref name="services"/> holds what every session of the server shares.</summary>
    public StreamChatSession(StreamChatSessionFactory services, IAsyncStreamReader<Proto.ChatRequest> requests, IServerStreamWriter<Proto.ChatResponse> responses,
        ServerCallContext context, CallerPrincipal principal, string? serviceProvider)
    {
        var options = services.Options;
        (_engine, _routing, _ids, _options, _time, _logger) = (services.Engine, services.Routing, services.Ids, options, services.Time, services.Logger);
        (_metrics, _principalLimiter, _audit, _authenticator, _pricer) = (services.Metrics, services.PrincipalLimiter, services.Audit, services.Authenticator, services.Pricer);
        _callTags = AuditTrail.CallTags(context.RequestHeaders);
        _trailers = context.ResponseTrailers;
        (_callerTrace, _method) = (GatewayTracing.CallerContext(context.RequestHeaders), context.Method);
        _rate = options.RequestsPerSecondPerStream <= 0 ? null : new TokenBucketRateLimiter(new TokenBucketRateLimiterOptions
        {
            TokenLimit = options.RequestBurstPerStream,
            TokensPerPeriod = options.RequestsPerSecondPerStream,
            ReplenishmentPeriod = TimeSpan.FromSeconds(1),
            QueueLimit = 0,
            AutoReplenishment = true,
        });
        (_requests, _principal, _serviceProvider) = (requests, principal, serviceProvider);
        _slots = new SemaphoreSlim(options.MaxConcurrentRequestsPerStream);
        _abort = CancellationTokenSource.CreateLinkedTokenSource(context.CancellationToken);
        _stopReading = CancellationTokenSource.CreateLinkedTokenSource(_abort.Token);
        // A failed write means the client is gone or the call was cancelled: stop every request of the stream.
        _out = new ResponseQueue<Proto.ChatResponse>(responses, options.ResponseBufferPerStream, _abort.Token, AbortCall, _metrics.MessageSent);
    }

    /// <summary>Serves the call until the client half-closes, the call is cancelled, or a drain completes.</summary>
    public async Task RunAsync(CancellationToken shutdown)
    {
        var started = _time.GetTimestamp();
        _metrics.StreamOpened();
        var streamSpan = GatewayTracing.StartStream(_method);
        _streamTrace = streamSpan?.Context ?? default;
        using var onShutdown = shutdown.Register(static s => ((StreamChatSession)s!).BeginDrain("shutdown"), this);
        using var maxAge = _options.MaxStreamAge is { } age
            ? _time.CreateTimer(static s => ((StreamChatSession)s!).BeginDrain("max-age"), this, Jittered(age, _options.MaxStreamAgeJitter), Timeout.InfiniteTimeSpan)
            : null;
        RpcException? readFailure = null;
        try
        {
            while (await _requests.MoveNext(_stopReading.Token).ConfigureAwait(false))
            {
                _metrics.MessageReceived();
                await AcceptAsync(_requests.Current).ConfigureAwait(false);
            }
        }
        catch (Exception) when (_stopReading.IsCancellationRequested || _abort.IsCancellationRequested)
        {
            // Drained, or the client went away: either way nothing more is read.
        }
        catch (OperationCanceledException)
        {
            _abort.Cancel();    // the connection went away before the call's token said so
        }
        catch (Exception ex)
        {
            // The next message could not be read (bad length prefix, undecodable bytes, too large): nothing after it
            // can be trusted, so reading stops; but the requests already accepted run to their terminals, as on a
            // half-close, and only then does the call end with a status that says what was wrong. grpc-dotnet reports
            // these as IOException (protobuf's decode error is one too), so an IOException is not taken to mean the
            // client left: if it did, the call's token (RequestAborted) cancels every request anyway, and a write to
            // the gone client fails and does the same.
            readFailure = UnreadableMessage(ex);
            Log.Unreadable(_logger, readFailure.StatusCode, _active.Count, ex);
        }

        await WhenAllFinishedAsync().ConfigureAwait(false); // the serial lane's requests too: they are active from arrival
        await _out.CompleteAsync().ConfigureAwait(false);
        _abort.Dispose();
        _rate?.Dispose();
        _metrics.StreamClosed(_time.GetElapsedTime(started), Interlocked.Read(ref _accepted));
        GatewayTracing.EndStream(streamSpan, Interlocked.Read(ref _accepted), readFailure is not null);
        if (readFailure is not null) throw readFailure;
        if (Volatile.Read(ref _drainReason) is { } reason) _trailers.Add(StreamEndTrailer, reason);
    }

    /// <summary>This stream's maximum age: <paramref name="age"/> give or take up to <paramref name="jitter"/> of it, uniformly.</summary>
    internal static TimeSpan Jittered(TimeSpan age, double jitter) =>
        jitter <= 0 ? age : TimeSpan.FromTicks(Math.Max(1, (long)(age.Ticks * (1 + jitter * (2 * Random.Shared.NextDouble() - 1)))));

    /// <summary>The status that ends a call whose next message could not be read.</summary>
    private static RpcException UnreadableMessage(Exception ex) => ex switch
    {
        RpcException { StatusCode: StatusCode.ResourceExhausted } tooLarge => tooLarge,
        RpcException rpc => new RpcException(new Status(StatusCode.InvalidArgument, $"a request message could not be read: {rpc.Status.Detail}")),
        Google.Protobuf.InvalidProtocolBufferException => new RpcException(new Status(StatusCode.InvalidArgument, "a request message could not be decoded as a ChatRequest (malformed protobuf)")),
        IOException or InvalidDataException => new RpcException(new Status(StatusCode.InvalidArgument, $"a request message could not be read: {ex.Message}")),
        _ => new RpcException(new Status(StatusCode.InvalidArgument, $"a request message could not be decoded ({ex.GetType().Name})")),
    };

    private async ValueTask AcceptAsync(Proto.ChatRequest request)
    {
        var clientId = request.ClientRequestId;
        if (request.Action == Proto.ChatAction.Cancel)
        {
            if (clientId.Length > 0 && _tagged is { } tagged && tagged.TryGetValue(clientId, out var target)) target.Cancel(CancelReason.Client);
            return;
        }

        var requestId = _ids.Next();
        Interlocked.Increment(ref _accepted);
        var span = GatewayTracing.StartStreamRequest(_callerTrace, _streamTrace, requestId, clientId);
        var refusal =
            request.Action != Proto.ChatAction.Chat ? ChatErrors.From(new ChatRequestException($"action {(int)request.Action} is unknown (CHAT, CANCEL)"))
            : Volatile.Read(ref _draining) != 0 ? ChatErrors.Draining()
            : _principal.IsExpired(_time.GetUtcNow()) ? Refused(AuthFailure.Expired, ChatErrors.TokenExpired())
            : await _authenticator.IsRevokedAsync(_principal).ConfigureAwait(false) ? Refused(AuthFailure.UnknownKey, ChatErrors.KeyRevoked())
            : _rate is not null && !TryTakeRateToken() ? ChatErrors.RateLimited($"more than {_options.RequestsPerSecondPerStream} requests per second on this stream")
            : null;
        if (clientId.Length == 0)
        {
            // Untagged: one at a time, in arrival order, so responses never interleave; even a refusal
            // waits its turn. The lane is unbounded but counted against the queue limit (past it, a 429
            // goes out at once: order cannot be kept for what is not queued). It is completed only after
            // reading stops.
            if (!TryReserveWaitingPlace()) { await RejectAsync(request, requestId, ChatErrors.QueueFull(_options.MaxQueuedRequestsPerStream), span).ConfigureAwait(false); return; }
            var queued = new ActiveRequest(this, requestId, clientId, request) { Refusal = refusal, Span = span };
            _active[requestId] = queued;
            EnqueueUntagged(queued);
            return;
        }
        if (refusal is not null) { await RejectAsync(request, requestId, refusal, span).ConfigureAwait(false); return; }

        if (TryPrepare(request, out var prepared) is { } invalid) { await RejectAsync(request, requestId, invalid, span).ConfigureAwait(false); return; }

        var active = new ActiveRequest(this, requestId, clientId, request) { Span = span };
        ChatError? rejection = null;
        var holdsSlot = false;
        if (!(_tagged ??= NewTaggedMap()).TryAdd(clientId, active)) rejection = ChatErrors.DuplicateId(clientId);
        else if (!(holdsSlot = _slots.Wait(0)) && !TryReserveWaitingPlace())
        {
            _tagged.TryRemove(new(clientId, active));
            rejection = ChatErrors.QueueFull(_options.MaxQueuedRequestsPerStream);
        }
        if (rejection is not null)
        {
            active.Complete();
            await RejectAsync(request, requestId, rejection, span).ConfigureAwait(false);
            return;
        }
        _active[requestId] = active;
        _ = RunAsync(active, prepared, holdsSlot, countedAsWaiting: !holdsSlot);
    }

    /// <summary>A request refused because the stream's principal is no longer valid: counted like a refused call.</summary>
    private ChatError Refused(AuthFailure reason, ChatError error)
    {
        _metrics.AuthFailed(reason);
        return error;
    }

    /// <summary>Validates and routes a request; the 400 when it is invalid.</summary>
    private ChatError? TryPrepare(Proto.ChatRequest request, out PreparedRequest prepared)
    {
        try
        {
            prepared = _routing.Prepare(request, _serviceProvider);
            return null;
        }
        catch (ChatRequestException ex)
        {
            prepared = default;
            return ChatErrors.From(ex);
        }
        catch (Exception ex)
        {
            // A request the mapping did not foresee is a bug of ours: that request gets a 500, the stream goes on.
            Log.PrepareFailed(_logger, ex);
            prepared = default;
            return ChatErrors.InternalError();
        }
    }

    private bool TryTakeRateToken()
    {
        using var lease = _rate!.AttemptAcquire();
        return lease.IsAcquired;
    }

    private bool TryReserveWaitingPlace()
    {
        if (Interlocked.Increment(ref _waiting) <= _options.MaxQueuedRequestsPerStream)
        {
            _metrics.Queued(1);
            return true;
        }
        Interlocked.Decrement(ref _waiting);
        return false;
    }

    private void LeaveWaitingPlace()
    {
        Interlocked.Decrement(ref _waiting);
        _metrics.Queued(-1);
    }

    /// <summary>
    /// Queues an untagged request behind the ones before it; when the lane has no runner, one starts here, on the
    /// reader's thread, and runs the request until its first wait (the upstream call): no hop to another thread for the
    /// common case of one request at a time. The runner stops when the lane is empty (an idle stream holds no task).
    /// </summary>
    private void EnqueueUntagged(ActiveRequest request)
    {
        var queue = _laneQueue ??= new Queue<ActiveRequest>();   // only the reader writes the field
        lock (queue)
        {
            queue.Enqueue(request);
            if (_laneRunning) return;
            _laneRunning = true;
        }
        _ = SerialLaneAsync(); // never fails (every request path catches); each request's completion is awaited through _active
    }

    /// <summary>The lane's next request; null when it is empty, and then the runner stops (under the lock, so the next one queued starts another).</summary>
    private ActiveRequest? NextInLane()
    {
        var queue = _laneQueue!;
        lock (queue)
        {
            if (queue.TryDequeue(out var next)) return next;
            _laneRunning = false;
            return null;
        }
    }

    private async Task SerialLaneAsync()
    {
        while (NextInLane() is { } active)
        {
            LeaveWaitingPlace();
            PreparedRequest prepared = default;
            if ((active.Refusal ?? TryPrepare(active.Request, out prepared)) is { } error)
            {
                Log.Rejected(_logger, active.RequestId, active.ClientRequestId, error.Code, error.Message);
                await FinishAsync(active, ProtoMapping.Failure(active.RequestId, active.ClientRequestId, error)).ConfigureAwait(false);
                continue;
            }
            await RunAsync(active, prepared, holdsSlot: false, countedAsWaiting: false).ConfigureAwait(false);
        }
    }

    private async Task RunAsync(ActiveRequest active, PreparedRequest prepared, bool holdsSlot, bool countedAsWaiting)
    {
        Proto.ChatResponse terminal;
        ChatOutcome? outcome = null;
        if (active.Span is not null) Activity.Current = active.Span; // the lane runs outside it: attempts nest under the request
        GatewayTracing.Routed(active.Span, prepared.Targets);
        try
        {
            if (!holdsSlot)
            {
                try { await _slots.WaitAsync(active.Token).ConfigureAwait(false); }
                finally { if (countedAsWaiting) LeaveWaitingPlace(); }
                holdsSlot = true;
            }
            await using var lease = await _principalLimiter.AcquireAsync(_principal, active.Token).ConfigureAwait(false);
            if (lease.Refusal is { } refused)
                terminal = ProtoMapping.Failure(active.RequestId, active.ClientRequestId, refused);
            else if (_pricer?.OverBudget(_principal) is { } overBudget)
                terminal = ProtoMapping.Failure(active.RequestId, active.ClientRequestId, overBudget);
            else
            {
                outcome = await _engine.RunAsync(prepared.Targets, prepared.HedgeAfter, active.RequestId, active.WriteDeltaAsync, active.Token, active.WriteReasoningAsync).ConfigureAwait(false);
                if (_pricer is not null) outcome = _pricer.Price(_principal, outcome);
                terminal = ProtoMapping.Terminal(outcome, active.ClientRequestId);
            }
        }
        catch (OperationCanceledException) when (active.Token.IsCancellationRequested)
        {
            var reason = active.Reason;
            Log.Cancelled(_logger, active.RequestId, active.ClientRequestId, reason);
            _metrics.Cancelled(reason == CancelReason.Drain ? "drain" : reason == CancelReason.Client ? "client" : "stream_ended");
            terminal = ProtoMapping.Failure(active.RequestId, active.ClientRequestId,
                reason == CancelReason.Drain ? ChatErrors.Draining() : ChatErrors.CancelledByClient());
        }
        catch (Exception ex)
        {
            Log.Failed(_logger, active.RequestId, ex);
            terminal = ProtoMapping.Failure(active.RequestId, active.ClientRequestId, ChatErrors.InternalError());
        }
        finally
        {
            if (holdsSlot) _slots.Release();
        }
        await FinishAsync(active, terminal, outcome).ConfigureAwait(false);
    }

    /// <summary>Frees the id first (a client may reuse it the moment it sees the terminal), then sends the terminal.</summary>
    private async Task FinishAsync(ActiveRequest active, Proto.ChatResponse terminal, ChatOutcome? outcome = null)
    {
        if (active.ClientRequestId.Length > 0) _tagged!.TryRemove(new(active.ClientRequestId, active));   // a tagged request created it
        _audit.Record(_principal, _callTags, _serviceProvider, active.Request, terminal, outcome);
        GatewayTracing.EndRequest(active.Span, terminal.Code, outcome);
        try
        {
            await _out.WriteAsync(terminal, _abort.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is OperationCanceledException or ChannelClosedException)
        {
            // The call is gone; nobody is left to tell.
        }
        finally
        {
            _active.TryRemove(active.RequestId, out _);
            active.Complete();
        }
    }

    private async ValueTask RejectAsync(Proto.ChatRequest request, ulong requestId, ChatError error, Activity? span)
    {
        var clientId = request.ClientRequestId;
        Log.Rejected(_logger, requestId, clientId, error.Code, error.Message);
        var terminal = ProtoMapping.Failure(requestId, clientId, error);
        _audit.Record(_principal, _callTags, _serviceProvider, request, terminal);
        GatewayTracing.EndRequest(span, terminal.Code, null);
        try { await _out.WriteAsync(terminal, _abort.Token).ConfigureAwait(false); }
        catch (Exception ex) when (ex is OperationCanceledException or ChannelClosedException) { }
    }

    private void AbortCall()
    {
        try { if (!_abort.IsCancellationRequested) _abort.Cancel(); }
        catch (ObjectDisposedException) { } // the call already ended
    }

    private void BeginDrain(string why)
    {
        if (Interlocked.Exchange(ref _draining, 1) != 0) return;
        Volatile.Write(ref _drainReason, why);
        Log.Draining(_logger, why, _active.Count);
        _ = DrainAsync();
    }

    private async Task DrainAsync()
    {
        var callGone = _abort.Token;
        try
        {
            var finished = WhenAllFinishedAsync();
            using var deadline = new CancellationTokenSource(_options.DrainTimeout, _time);
            if (await Task.WhenAny(finished, Task.Delay(Timeout.Infinite, deadline.Token)).ConfigureAwait(false) != finished)
            {
                foreach (var active in _active.Values) active.Cancel(CancelReason.Drain);
                await finished.ConfigureAwait(false);
            }
            // Every terminal is written; give the client a moment to half-close (our client does on its first 503
            // "draining") so that the call does not end while it is still sending: proxies drop what they still buffer then.
            if (_options.DrainLinger > TimeSpan.Zero)
                await Task.Delay(_options.DrainLinger, _time, callGone).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
        finally
        {
            _stopReading.Cancel();
        }
    }

    private async Task WhenAllFinishedAsync()
    {
        while (!_active.IsEmpty)
            await Task.WhenAll(_active.Values.Select(a => a.Completion)).ConfigureAwait(false);
    }

    internal enum CancelReason { None, Client, Drain }

    /// <summary>One accepted request: its ids, its own cancellation, and its completion.</summary>
    private sealed class ActiveRequest(StreamChatSession session, ulong requestId, string clientRequestId, Proto.ChatRequest request)
    {
        private readonly CancellationTokenSource _cts = CancellationTokenSource.CreateLinkedTokenSource(session._abort.Token);
        private readonly TaskCompletionSource _done = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _reason;

        public ulong RequestId { get; } = requestId;
        /// <summary>Set when the request is refused on arrival; an untagged one still waits its turn to say so.</summary>
        public ChatError? Refusal { get; init; }
        /// <summary>The request's span (null when tracing is off); ended with its terminal.</summary>
        public Activity? Span { get; init; }
        public string ClientRequestId { get; } = clientRequestId;
        public Proto.ChatRequest Request { get; } = request;
        public CancellationToken Token => _cts.Token;
        public CancelReason Reason => (CancelReason)Volatile.Read(ref _reason);
        public Task Completion => _done.Task;

        public void Cancel(CancelReason reason)
        {
            if (Interlocked.CompareExchange(ref _reason, (int)reason, 0) != 0) return;
            try { _cts.Cancel(); } catch (ObjectDisposedException) { }
        }

        public ValueTask WriteDeltaAsync(string text, CancellationToken cancellationToken) =>
            session._out.WriteAsync(ProtoMapping.Delta(RequestId, ClientRequestId, text), cancellationToken);

        public ValueTask WriteReasoningAsync(string text, CancellationToken cancellationToken) =>
            session._out.WriteAsync(ProtoMapping.ReasoningDelta(RequestId, ClientRequestId, text), cancellationToken);

        public void Complete()
        {
            _cts.Dispose();
            _done.TrySetResult();
        }
    }

    private static partial class Log
    {
        [LoggerMessage(10, LogLevel.Information, "Request {RequestId} ({ClientRequestId}) cancelled: {Reason}")]
        public static partial void Cancelled(ILogger logger, ulong requestId, string clientRequestId, CancelReason reason);

        [LoggerMessage(11, LogLevel.Debug, "Request {RequestId} ({ClientRequestId}) refused with {Code}: {Message}")]
        public static partial void Rejected(ILogger logger, ulong requestId, string clientRequestId, int code, string message);

        [LoggerMessage(12, LogLevel.Error, "Request {RequestId} failed unexpectedly")]
        public static partial void Failed(ILogger logger, ulong requestId, Exception exception);

        [LoggerMessage(13, LogLevel.Information, "Stream draining ({Why}) with {Active} requests in flight")]
        public static partial void Draining(ILogger logger, string why, int active);

        [LoggerMessage(14, LogLevel.Information, "Stream stops reading: a request message could not be read ({Status}); {Active} requests in flight finish first")]
        public static partial void Unreadable(ILogger logger, StatusCode status, int active, Exception exception);

        [LoggerMessage(15, LogLevel.Error, "A request could not be prepared")]
        public static partial void PrepareFailed(ILogger logger, Exception exception);
    }
}
