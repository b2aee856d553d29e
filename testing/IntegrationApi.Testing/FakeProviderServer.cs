using System.Collections.Concurrent;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace IntegrationApi.Testing;

/// <summary>A rendered streaming answer: frames before the content, content frames (faults count these), terminal frames.</summary>
public sealed record FakeStreamPlan(IReadOnlyList<string> Head, IReadOnlyList<string> Content, IReadOnlyList<string> Tail);

/// <summary>
/// A provider fake: a real Kestrel server on 127.0.0.1 port 0 that answers scripted requests in one
/// provider's wire format and records every request, including whether the client aborted it.
/// Scripts are chosen per request: first a rule whose text the body contains, then the queue, then
/// <see cref="DefaultScript"/> (or <see cref="Responder"/>).
/// </summary>
public abstract class FakeProviderServer : IAsyncDisposable
{
    private static readonly TimeSpan KeepAliveInterval = TimeSpan.FromMilliseconds(50);
    private readonly ConcurrentQueue<FakeScript> _queue = new();
    private readonly ConcurrentDictionary<string, FakeScript> _rules = new();
    private readonly ConcurrentQueue<RecordedRequest> _requests = new();
    private readonly ConcurrentQueue<RecordedRequest> _verifications = new();
    private WebApplication? _app;

    /// <summary>The credential the fake accepts; anything else gets the provider's 401.</summary>
    public string ValidKey { get; set; } = "test-key";

    /// <summary>Used when no rule matches and the queue is empty.</summary>
    public FakeScript DefaultScript { get; set; } = new();

    /// <summary>When set, picks the script from the request (after rules and queue); null falls back to the default.</summary>
    public Func<RecordedRequest, FakeScript?>? Responder { get; set; }

    /// <summary>
    /// When set, sees every request first and may answer it itself (a redirect, a huge or endless body) by
    /// returning true; such requests are not recorded.
    /// </summary>
    public Func<HttpContext, Task<bool>>? Intercept { get; set; }

    /// <summary>The base URL to configure the adapter with, e.g. <c>http://127.0.0.1:5123/v1</c>.</summary>
    public string BaseUrl { get; private set; } = "";

    /// <summary>Every request received so far, in arrival order.</summary>
    public IReadOnlyList<RecordedRequest> Requests => _requests.ToArray();

    /// <summary>Credential checks received on the provider's cheapest authenticated route.</summary>
    public IReadOnlyList<RecordedRequest> Verifications => _verifications.ToArray();

    /// <summary>Uses <paramref name="script"/> for the next request no rule claims.</summary>
    public void Enqueue(FakeScript script) => _queue.Enqueue(script);

    /// <summary>Uses <paramref name="script"/> for every request whose body contains <paramref name="bodyContains"/>.</summary>
    public void On(string bodyContains, FakeScript script) => _rules[bodyContains] = script;

    /// <summary>
    /// Answers with <paramref name="head"/> and then <paramref name="pattern"/> repeated, <paramref name="maxBytes"/> in
    /// all, and then holds the answer open until the client goes away (for <see cref="Intercept"/>): an answer that
    /// never ends, so a reader without a cap never finishes. Writes wait for the reader; the fake holds one chunk.
    /// </summary>
    public static async Task WriteEndlessAsync(HttpContext context, int status, string contentType, string head, string pattern, long maxBytes = 64 << 20)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = contentType;
        var chunk = Encoding.UTF8.GetBytes(string.Concat(Enumerable.Repeat(pattern, Math.Max(1, 16384 / Math.Max(1, pattern.Length)))));
        var aborted = context.RequestAborted;
        try
        {
            await context.Response.Body.WriteAsync(Encoding.UTF8.GetBytes(head), aborted).ConfigureAwait(false);
            for (long written = 0; written < maxBytes && !aborted.IsCancellationRequested; written += chunk.Length)
                await context.Response.Body.WriteAsync(chunk, aborted).ConfigureAwait(false);
            await context.Response.Body.FlushAsync(aborted).ConfigureAwait(false);
            await Task.Delay(Timeout.Infinite, aborted).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException or InvalidOperationException)
        {
            // The client stopped reading and went away, which is what the answer waits for.
        }
    }

    /// <summary>Starts listening on a free loopback port.</summary>
    public async Task StartAsync(int port = 0)
    {
        (_app, var address) = await LoopbackApp.StartAsync(HandleAsync, port).ConfigureAwait(false);
        BaseUrl = address + BasePath;
    }

    /// <summary>The path prefix of the provider's API (e.g. <c>/v1</c>).</summary>
    protected virtual string BasePath => "/v1";

    /// <summary>Why the fake refuses the request before scripting (auth, missing fields), as (status, body); null accepts it.</summary>
    protected abstract (int Status, string Body)? Reject(RecordedRequest request);

    /// <summary>The provider's cheapest authenticated call (e.g. <c>GET /v1/models</c>), used to verify a credential.</summary>
    protected abstract (string Method, string Path) VerifyRoute { get; }

    /// <summary>The provider's refusal of the request's credential, or null when it is the valid one.</summary>
    protected abstract (int Status, string Body)? CheckCredential(RecordedRequest request);

    /// <summary>The body of a successful credential check.</summary>
    protected virtual string VerifyBody => "{\"object\":\"list\",\"data\":[]}";

    /// <summary>Whether the request asked for a streamed answer.</summary>
    protected abstract bool IsStreaming(RecordedRequest request);

    /// <summary>The provider's error body for an HTTP error.</summary>
    protected abstract string ErrorBody(int status, FakeScript script);

    /// <summary>The provider's complete (non-streaming) JSON answer.</summary>
    protected abstract string UnaryBody(RecordedRequest request, FakeScript script);

    /// <summary>The provider's streamed answer as SSE frames.</summary>
    protected abstract FakeStreamPlan StreamPlan(RecordedRequest request, FakeScript script);

    /// <summary>
    /// The whole streamed answer the fake would send for <paramref name="script"/> to a request with
    /// <paramref name="requestBody"/>, as one string: for replaying the exact bytes without a server (microbenchmarks).
    /// </summary>
    public string RenderStream(FakeScript script, string requestBody = "{}")
    {
        var plan = StreamPlan(new RecordedRequest("render", "POST", BasePath, "", new Dictionary<string, string>(), requestBody), script);
        return string.Concat(plan.Head.Concat(plan.Content).Concat(plan.Tail));
    }

    /// <summary>The provider's in-band error frame.</summary>
    protected abstract string InBandErrorFrame(FakeScript script);

    /// <summary>A frame whose data is not valid JSON.</summary>
    protected virtual string MalformedFrame => "data: {\"id\":\"broken\",\"choices\":[{\"delta\":{\"content\":\"unterminated\n\n";

    /// <summary>Response headers every answer carries (request ids, rate-limit headers).</summary>
    protected virtual void AddResponseHeaders(HttpResponse response) { }

    /// <summary>The status of a successful non-streaming answer (Replicate creates predictions with 201).</summary>
    protected virtual int UnaryStatus => 200;

    /// <summary>
    /// Streams <paramref name="script"/> on a side route's response (Replicate streams from a second URL):
    /// the chunks, faults and client abort count on <paramref name="primary"/>, the request that chose the script.
    /// </summary>
    protected async Task StreamOnSideRouteAsync(HttpContext context, RecordedRequest primary, FakeScript script)
    {
        using var onAbort = context.RequestAborted.Register(static r => ((RecordedRequest)r!).MarkAborted(), primary);
        try { await StreamAsync(context, primary, script).ConfigureAwait(false); }
        catch (Exception) { primary.MarkAborted(); } // the client went away (the token may not say so yet)
        finally { primary.MarkFinished(); }
    }

    /// <summary>Whether a scripted retry delay goes in a <c>retry-after</c> header (Google puts it in the body instead).</summary>
    protected virtual bool RetryAfterInHeader => true;

    /// <summary>Handles a side route that is not a provider call (e.g. an OAuth token endpoint); true when handled.</summary>
    protected virtual Task<bool> TryHandleSideRouteAsync(HttpContext context) => Task.FromResult(false);

    private async Task HandleAsync(HttpContext context)
    {
        if (Intercept is { } intercept && await intercept(context).ConfigureAwait(false)) return;
        if (await TryHandleSideRouteAsync(context).ConfigureAwait(false)) return;
        var aborted = context.RequestAborted;
        string body;
        using (var reader = new StreamReader(context.Request.Body, Encoding.UTF8)) body = await reader.ReadToEndAsync(aborted).ConfigureAwait(false);
        var headers = context.Request.Headers.ToDictionary(h => h.Key.ToLowerInvariant(), h => h.Value.ToString());
        var request = new RecordedRequest(context.Connection.Id, context.Request.Method, context.Request.Path.Value ?? "", context.Request.QueryString.Value ?? "", headers, body);
        if ((request.Method, request.Path) == VerifyRoute)
        {
            _verifications.Enqueue(request);
            var refusal = CheckCredential(request);
            await WriteJsonAsync(context, refusal?.Status ?? 200, refusal?.Body ?? VerifyBody).ConfigureAwait(false);
            return;
        }
        _requests.Enqueue(request);
        using var onAbort = aborted.Register(static r => ((RecordedRequest)r!).MarkAborted(), request);
        FakeScript? script = null;
        try
        {
            AddResponseHeaders(context.Response);
            if (OperationFor(request) is { } operation)
            {
                script = await AnswerOperationAsync(context, request, operation).ConfigureAwait(false);
                return;
            }
            if (Reject(request) is { } rejection)
            {
                await WriteJsonAsync(context, rejection.Status, rejection.Body).ConfigureAwait(false);
                return;
            }
            script = ChooseScript(request);
            if (script.HttpStatus is { } status)
            {
                if (script.RetryAfter is not null && RetryAfterInHeader) context.Response.Headers["retry-after"] = script.RetryAfter;
                await WriteJsonAsync(context, status, ErrorBody(status, script)).ConfigureAwait(false);
                return;
            }
            if (!IsStreaming(request))
            {
                if (script.TimeToFirstToken > TimeSpan.Zero) await Task.Delay(script.TimeToFirstToken, aborted).ConfigureAwait(false);
                await WriteJsonAsync(context, UnaryStatus, UnaryBody(request, script)).ConfigureAwait(false);
                return;
            }
            await StreamAsync(context, request, script).ConfigureAwait(false);
        }
        catch (Exception)
        {
            // Writing failed or was cancelled: the client went away (the token may not say so yet).
            request.MarkAborted();
        }
        finally
        {
            if (!StreamsOnSideRoute || script is null || script.HttpStatus is not null) request.MarkFinished();
        }
    }

    /// <summary>The non-chat endpoint (embeddings, rerank, moderation) <paramref name="request"/> is for, or null for chat.</summary>
    protected virtual FakeOperation? OperationFor(RecordedRequest request) => null;

    /// <summary>
    /// Answers a non-chat request the way the real API does: its credential check, its refusals of the body, then the
    /// script (an HTTP error, a delay, a stall until the client goes away), then the operation's JSON.
    /// </summary>
    private async Task<FakeScript?> AnswerOperationAsync(HttpContext context, RecordedRequest request, FakeOperation operation)
    {
        var refused = operation.CheckCredential(request, ValidKey) ?? (operation.UsesFakeCredential ? CheckCredential(request) : null);
        if (refused is not null)
        {
            await WriteJsonAsync(context, refused.Value.Status, refused.Value.Body).ConfigureAwait(false);
            return null;
        }
        if (operation.Reject(request) is { } rejection)
        {
            await WriteJsonAsync(context, rejection.Status, rejection.Body).ConfigureAwait(false);
            return null;
        }
        var script = ChooseScript(request);
        if (script.HttpStatus is { } status)
        {
            if (script.RetryAfter is not null && RetryAfterInHeader) context.Response.Headers["retry-after"] = script.RetryAfter;
            await WriteJsonAsync(context, status, operation.ErrorBody(status, script) ?? ErrorBody(status, script)).ConfigureAwait(false);
            return script;
        }
        if (script.Fault == FakeFault.Stall) await Task.Delay(Timeout.Infinite, context.RequestAborted).ConfigureAwait(false);
        if (script.FaultGate is { } gate) await gate.WaitAsync(context.RequestAborted).ConfigureAwait(false);
        if (script.TimeToFirstToken > TimeSpan.Zero) await Task.Delay(script.TimeToFirstToken, context.RequestAborted).ConfigureAwait(false);
        await WriteJsonAsync(context, 200, operation.Answer(request, script)).ConfigureAwait(false);
        return script;
    }

    /// <summary>True when the answer streams from a second request (<see cref="StreamOnSideRouteAsync"/>), which finishes the record.</summary>
    protected virtual bool StreamsOnSideRoute => false;

    private FakeScript ChooseScript(RecordedRequest request)
    {
        foreach (var (text, script) in _rules)
            if (request.Body.Contains(text, StringComparison.Ordinal)) return script;
        if (_queue.TryDequeue(out var queued)) return queued;
        return Responder?.Invoke(request) ?? DefaultScript;
    }

    private async Task StreamAsync(HttpContext context, RecordedRequest request, FakeScript script)
    {
        var aborted = context.RequestAborted;
        var plan = StreamPlan(request, script);
        var response = context.Response;
        response.StatusCode = 200;
        response.ContentType = "text/event-stream; charset=utf-8";
        response.Headers.CacheControl = "no-cache";
        request.MarkStreaming();
        await WriteFramesAsync(response, plan.Head, aborted).ConfigureAwait(false);

        for (var i = 0; i <= plan.Content.Count; i++)
        {
            // With no fault, a gate only pauses the answer at that point.
            if (script.Fault == FakeFault.None && script.FaultGate is { } pause && i == Math.Min(script.FaultAfterChunks, plan.Content.Count))
                await pause.WaitAsync(aborted).ConfigureAwait(false);
            if (script.Fault != FakeFault.None && i == Math.Min(script.FaultAfterChunks, plan.Content.Count))
            {
                if (script.FaultGate is { } gate) await gate.WaitAsync(aborted).ConfigureAwait(false);
                switch (script.Fault)
                {
                    case FakeFault.Cut:
                        context.Abort();
                        return;
                    case FakeFault.Stall:
                        // No data, only SSE comments (which proxies send too and every parser skips): a write is
                        // what surely tells the server that the client has gone, so the abort is always seen.
                        while (true)
                        {
                            await Task.Delay(KeepAliveInterval, aborted).ConfigureAwait(false);
                            await WriteFramesAsync(response, [": keep-alive\n\n"], aborted).ConfigureAwait(false);
                        }
                    case FakeFault.InBandError:
                        await WriteFramesAsync(response, [InBandErrorFrame(script)], aborted).ConfigureAwait(false);
                        return;
                    case FakeFault.MalformedChunk:
                        await WriteFramesAsync(response, [MalformedFrame], aborted).ConfigureAwait(false);
                        break;
                    case FakeFault.MissingTerminal:
                        if (i == plan.Content.Count) return;
                        break;
                }
            }
            if (i == plan.Content.Count) break;
            var delay = i == 0 ? script.TimeToFirstToken : script.ChunkGap;
            if (delay > TimeSpan.Zero) await Task.Delay(delay, aborted).ConfigureAwait(false);
            await WriteFramesAsync(response, [plan.Content[i]], aborted).ConfigureAwait(false);
            request.CountChunk();
        }
        if (script.Fault == FakeFault.MissingTerminal) return;
        await WriteFramesAsync(response, plan.Tail, aborted).ConfigureAwait(false);
    }

    private static async Task WriteFramesAsync(HttpResponse response, IReadOnlyList<string> frames, CancellationToken ct)
    {
        if (frames.Count == 0) return;
        foreach (var frame in frames) await response.Body.WriteAsync(Encoding.UTF8.GetBytes(frame), ct).ConfigureAwait(false);
        await response.Body.FlushAsync(ct).ConfigureAwait(false);
    }

    private static Task WriteJsonAsync(HttpContext context, int status, string body)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        return context.Response.WriteAsync(body, context.RequestAborted);
    }

    public async ValueTask DisposeAsync()
    {
        if (_app is not null)
        {
            using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            await _app.StopAsync(stop.Token).ConfigureAwait(false);
            await _app.DisposeAsync().ConfigureAwait(false);
        }
        GC.SuppressFinalize(this);
    }
}
