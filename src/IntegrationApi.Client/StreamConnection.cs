using System.Collections.Concurrent;
using System.Threading.Channels;
using Grpc.Core;
using IntegrationApi.Contracts;

namespace IntegrationApi.Client;

/// <summary>
/// One persistent StreamChat call: a single writer loop sends requests (and CANCELs) from an outbox, a
/// reader loop hands each response to its request by <c>clientRequestId</c>. When the call ends, every
/// request still open fails with how it ended.
/// </summary>
/// <remarks>
/// A server draining the stream (its maximum age, or shutdown; docs/contract.md §3.8) answers new requests with a
/// <c>503</c> "draining" terminal before running them: such a request fails here as not run (so it is re-sent on
/// another stream), the stream takes no more requests and is half-closed, and the call then ends <c>OK</c> with the
/// trailer <c>integration-api-stream-end</c>, which is reported as <see cref="StatusCode.Unavailable"/>.
/// </remarks>
internal sealed class StreamConnection
{
    /// <summary>Trailer of a call the server ended so that the client reopens (<c>max-age</c> or <c>shutdown</c>).</summary>
    public const string StreamEndTrailer = "integration-api-stream-end";
    private const string DrainingPrefix = "the server is draining";

    private readonly AsyncDuplexStreamingCall<ChatRequest, ChatResponse> _call;
    private readonly Channel<ChatRequest> _outbox = Channel.CreateUnbounded<ChatRequest>(new() { SingleReader = true });
    private readonly ConcurrentDictionary<string, PendingRequest> _pending = new(StringComparer.Ordinal);
    private volatile bool _open = true;

    private volatile object? _ended; // the boxed Status the call ended with, once it has

    public StreamConnection(LlmService.LlmServiceClient client, Metadata headers)
    {
        _call = client.StreamChat(headers);
        Completion = RunAsync();
    }

    /// <summary>Completes when the call has ended.</summary>
    public Task Completion { get; }

    /// <summary>False once the call ended or is ending; new requests go elsewhere.</summary>
    public bool IsOpen => _open;

    public int InFlight => _pending.Count;

    /// <summary>Sends <paramref name="request"/> (which carries a fresh <c>clientRequestId</c>) and returns where its responses arrive.</summary>
    public PendingRequest Send(ChatRequest request)
    {
        var pending = new PendingRequest();
        _pending[request.ClientRequestId] = pending;
        if (!_open || !_outbox.Writer.TryWrite(request))
        {
            _pending.TryRemove(request.ClientRequestId, out _);
            // The status the call really ended with (connection refused, Unauthenticated, …) says more than that it ended.
            pending.Fail(_ended is Status ended ? ended : new Status(StatusCode.Unavailable, "the stream has ended"));
        }
        return pending;
    }

    /// <summary>Cancels one request: the server aborts its upstream call; its late responses are dropped here.</summary>
    public void Cancel(string clientRequestId)
    {
        if (_pending.TryRemove(clientRequestId, out _))
            _outbox.Writer.TryWrite(new ChatRequest { Action = ChatAction.Cancel, ClientRequestId = clientRequestId });
    }

    /// <summary>Half-closes: the server finishes what is in flight and ends the call.</summary>
    public void Close() => _outbox.Writer.TryComplete();

    private async Task RunAsync()
    {
        var writer = WriteLoopAsync();
        var status = Status.DefaultSuccess;
        try
        {
            await foreach (var response in _call.ResponseStream.ReadAllAsync().ConfigureAwait(false))
            {
                if (!_pending.TryGetValue(response.ClientRequestId, out var pending)) continue; // cancelled, or not ours
                var terminal = response.FinishReason.Length > 0;
                if (terminal) _pending.TryRemove(response.ClientRequestId, out _);
                if (terminal && !pending.Started && IsDrainRefusal(response))
                {
                    // Not run: no more requests here; the caller re-sends it on another stream.
                    _open = false;
                    Close();
                    pending.Fail(new Status(StatusCode.Unavailable, response.Error.ErrorMessage));
                    continue;
                }
                pending.Deliver(response, terminal);
            }
            if (_call.GetTrailers().GetValue(StreamEndTrailer) is { } reason)
                status = new Status(StatusCode.Unavailable, $"the server ended the stream ({reason}); reopen it");
        }
        catch (RpcException ex)
        {
            status = ex.Status;
        }
        catch (Exception ex) when (ex is IOException or OperationCanceledException or InvalidOperationException)
        {
            status = new Status(StatusCode.Unavailable, ex.Message);
        }
        _ended = status;
        _open = false;
        _outbox.Writer.TryComplete();
        foreach (var id in _pending.Keys)
            if (_pending.TryRemove(id, out var pending)) pending.Fail(status);
        try { await writer.ConfigureAwait(false); } catch (Exception) { /* the call is over either way */ }
        _call.Dispose();
    }

    /// <summary>A 503 terminal given to a request the draining server did not run.</summary>
    private static bool IsDrainRefusal(ChatResponse response) =>
        response.Code == 503 && response.Error?.ErrorMessage.StartsWith(DrainingPrefix, StringComparison.Ordinal) == true;

    private async Task WriteLoopAsync()
    {
        try
        {
            await foreach (var request in _outbox.Reader.ReadAllAsync().ConfigureAwait(false))
                await _call.RequestStream.WriteAsync(request).ConfigureAwait(false);
            await _call.RequestStream.CompleteAsync().ConfigureAwait(false);
        }
        catch (Exception)
        {
            // The call ended under the writer (or the server ended it); the reader reports how.
        }
    }
}

/// <summary>The responses of one request on a stream, and how it ended if the stream went first.</summary>
internal sealed class PendingRequest
{
    private readonly Channel<ChatResponse> _responses = Channel.CreateUnbounded<ChatResponse>(new() { SingleReader = true, SingleWriter = true });

    public ChannelReader<ChatResponse> Responses => _responses.Reader;

    /// <summary>True once a delta arrived: re-sending would repeat text.</summary>
    public bool Started { get; private set; }

    /// <summary>Set when the stream ended before this request's terminal.</summary>
    public Status? Failure { get; private set; }

    public void Deliver(ChatResponse response, bool terminal)
    {
        Started = true;
        _responses.Writer.TryWrite(response);
        if (terminal) _responses.Writer.TryComplete();
    }

    public void Fail(Status status)
    {
        Failure = status;
        _responses.Writer.TryComplete();
    }
}
