using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.ServerSentEvents;
using System.Text;
using Grpc.Core;
using Grpc.Net.Client;
using IntegrationApi.Client;
using IntegrationApi.Contracts;

namespace IntegrationApi.Bench;

/// <summary>One chat's timings, in microseconds from the moment it was due (its scheduled start).</summary>
internal readonly record struct Sample(bool Ok, double TtftUs, double TotalUs);

/// <summary>Something the load generator can ask for a chat: the upstream directly, a gateway's HTTP API, or ours over gRPC.</summary>
internal interface IChatTarget
{
    string Name { get; }
    Task<Sample> ChatAsync(bool stream, long due);
}

/// <summary>OpenAI-style HTTP/SSE: the upstream itself (the baseline) or an HTTP gateway in front of it.</summary>
internal sealed class HttpChatTarget : IChatTarget, IFramedTarget, IDisposable
{
    private readonly HttpClient _http;
    private readonly Uri _url;
    private readonly (string, string)[] _headers;
    private readonly byte[] _streamBody;
    private readonly byte[] _unaryBody;
    private int _failuresShown;

    public string Name { get; }

    public HttpChatTarget(string name, string url, params (string, string)[] headers) : this(name, url, BenchRequests.Model, 1100, headers) { }

    /// <summary>
    /// A target with a pool of up to <paramref name="maxConnections"/> keep-alive connections (the paced-streams regime
    /// holds one per stream, up to 10,000).
    /// </summary>
    public HttpChatTarget(string name, string url, int maxConnections, params (string, string)[] headers) : this(name, url, BenchRequests.Model, maxConnections, headers) { }

    /// <summary>A target whose <c>model</c> field is <paramref name="model"/> (our OpenAI-compatible surface takes <c>openai/gpt-4o-mini</c>).</summary>
    public HttpChatTarget(string name, string url, string model, params (string, string)[] headers) : this(name, url, model, 1100, headers) { }

    private HttpChatTarget(string name, string url, string model, int maxConnections, (string, string)[] headers)
    {
        Name = name;
        _streamBody = Encoding.UTF8.GetBytes(BenchRequests.OpenAIBody(true, model));
        _unaryBody = Encoding.UTF8.GetBytes(BenchRequests.OpenAIBody(false, model));
        _url = new Uri(url);
        _headers = headers;
        _http = new HttpClient(new SocketsHttpHandler
        {
            MaxConnectionsPerServer = maxConnections, // 1,100 by default: enough for the 1,000-stream regime; past it requests queue in the client (still timed from when they were due)
            PooledConnectionIdleTimeout = TimeSpan.FromMinutes(5),
            AutomaticDecompression = DecompressionMethods.None,
            UseProxy = false,
        })
        { Timeout = TimeSpan.FromSeconds(30) };
    }

    public async Task<Sample> ChatAsync(bool stream, long due)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, _url) { Content = new ByteArrayContent(stream ? _streamBody : _unaryBody) };
        request.Content.Headers.ContentType = new("application/json");
        foreach (var (name, value) in _headers) request.Headers.TryAddWithoutValidation(name, value);
        try
        {
            using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
            if (!response.IsSuccessStatusCode) { await response.Content.ReadAsByteArrayAsync(); return new(false, 0, Elapsed(due)); }
            await using var body = await response.Content.ReadAsStreamAsync();
            if (!stream)
            {
                await body.CopyToAsync(Stream.Null);
                var total = Elapsed(due);
                return new(true, total, total);
            }
            double ttft = 0;
            var done = false;
            await foreach (var item in SseParser.Create(body).EnumerateAsync())
            {
                if (ttft == 0 && item.Data.Contains("\"content\":\"", StringComparison.Ordinal) && !item.Data.Contains("\"content\":\"\"", StringComparison.Ordinal))
                    ttft = Elapsed(due);
                if (item.Data == "[DONE]") done = true;
            }
            return new(done && ttft > 0, ttft, Elapsed(due));
        }
        catch (Exception ex) when (ex is HttpRequestException or IOException or TaskCanceledException)
        {
            if (Interlocked.Increment(ref _failuresShown) <= 3) Console.Error.WriteLine($"  {Name}: {ex.GetType().Name}: {ex.Message} {ex.InnerException?.Message}");
            return new(false, 0, Elapsed(due));
        }
    }

    /// <summary>One streamed chat; every content event is stamped on <paramref name="clock"/> as it is parsed. True when it ended with <c>[DONE]</c>.</summary>
    public async Task<bool> StreamFramesAsync(FrameClock clock)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, _url) { Content = new ByteArrayContent(_streamBody) };
        request.Content.Headers.ContentType = new("application/json");
        foreach (var (name, value) in _headers) request.Headers.TryAddWithoutValidation(name, value);
        try
        {
            using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
            if (!response.IsSuccessStatusCode) { await response.Content.ReadAsByteArrayAsync(); return false; }
            await using var body = await response.Content.ReadAsStreamAsync();
            var done = false;
            await foreach (var item in SseParser.Create(body).EnumerateAsync())
            {
                if (item.Data == "[DONE]") done = true;
                else if (item.Data.Contains("\"content\":\"", StringComparison.Ordinal) && !item.Data.Contains("\"content\":\"\"", StringComparison.Ordinal))
                    clock.Frame(clock.GapsUs is null ? 0 : ChunkStamp.Read(item.Data));
            }
            return done;
        }
        catch (Exception ex) when (ex is HttpRequestException or IOException or TaskCanceledException)
        {
            if (Interlocked.Increment(ref _failuresShown) <= 3) Console.Error.WriteLine($"  {Name}: {ex.GetType().Name}: {ex.Message} {ex.InnerException?.Message}");
            return false;
        }
    }

    public static double Elapsed(long since) => Stopwatch.GetElapsedTime(since).TotalMicroseconds;

    public void Dispose() => _http.Dispose();
}

/// <summary>
/// Our gateway over gRPC. Streamed chats go over persistent <c>StreamChat</c> calls through
/// <see cref="IntegrationClient"/> (tagged, multiplexed); non-streamed ones are unary <c>Chat</c>.
/// </summary>
internal sealed class GrpcChatTarget : IChatTarget, IAsyncDisposable
{
    private readonly GrpcChannel _channel;
    private readonly IntegrationClient _client;
    private readonly LlmService.LlmServiceClient _stub;
    private readonly Metadata _headers;
    private readonly ChatRequest _request = BenchRequests.Grpc();

    public string Name { get; }

    public GrpcChatTarget(string name, string address, string apiKey, int maxStreams = 4, int maxInFlightPerStream = 256)
    {
        Name = name;
        _headers = new Metadata { { "x-api-key", apiKey } };
        _channel = CreateChannel(address);
        _stub = new LlmService.LlmServiceClient(_channel);
        var headers = _headers;
        _client = new IntegrationClient(_channel, new IntegrationClientOptions
        {
            Headers = () => headers, MaxStreams = maxStreams, MaxInFlightPerStream = maxInFlightPerStream, ResendBeforeFirstDelta = false,
        });
    }

    public static GrpcChannel CreateChannel(string address) => GrpcChannel.ForAddress(address, new GrpcChannelOptions
    {
        HttpHandler = new SocketsHttpHandler { EnableMultipleHttp2Connections = true, UseProxy = false, PooledConnectionIdleTimeout = TimeSpan.FromMinutes(10) },
        MaxReceiveMessageSize = 16 << 20,
    });

    public LlmService.LlmServiceClient Stub => _stub;
    public Metadata Headers => _headers;

    public async Task<Sample> ChatAsync(bool stream, long due)
    {
        try
        {
            if (!stream)
            {
                var answer = await _stub.ChatAsync(_request, _headers);
                var total = HttpChatTarget.Elapsed(due);
                return new(answer.Success, total, total);
            }
            double ttft = 0;
            var ok = false;
            await foreach (var response in _client.StreamAsync(_request))
            {
                if (response.FinishReason.Length > 0 || !response.Success) { ok = response.Success; break; }
                if (ttft == 0) ttft = HttpChatTarget.Elapsed(due);
            }
            return new(ok && ttft > 0, ttft, HttpChatTarget.Elapsed(due));
        }
        catch (Exception ex) when (ex is RpcException or IntegrationStreamException or IntegrationRequestException or IOException)
        {
            return new(false, 0, HttpChatTarget.Elapsed(due));
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _client.DisposeAsync();
        _channel.Dispose();
    }
}

/// <summary>The sequential regime's stream target: one persistent <c>StreamChat</c>, untagged requests, one at a time.</summary>
internal sealed class GrpcSequentialTarget(string name, GrpcChatTarget owner) : IChatTarget, IFramedTarget, IDisposable
{
    private readonly AsyncDuplexStreamingCall<ChatRequest, ChatResponse> _call = owner.Stub.StreamChat(owner.Headers);
    private readonly ChatRequest _request = BenchRequests.Grpc();

    public string Name { get; } = name;

    public async Task<Sample> ChatAsync(bool stream, long due)
    {
        if (!stream) return await owner.ChatAsync(false, due);
        await _call.RequestStream.WriteAsync(_request);
        double ttft = 0;
        while (await _call.ResponseStream.MoveNext(CancellationToken.None))
        {
            var response = _call.ResponseStream.Current;
            if (response.FinishReason.Length > 0 || !response.Success)
                return new(response.Success && ttft > 0, ttft, HttpChatTarget.Elapsed(due));
            if (ttft == 0) ttft = HttpChatTarget.Elapsed(due);
        }
        return new(false, ttft, HttpChatTarget.Elapsed(due));
    }

    /// <summary>Whether the call itself failed (the gateway or the connection went away): a new one is needed.</summary>
    public bool Broken { get; private set; }

    /// <summary>One streamed chat on this stream; every delta with content is stamped on <paramref name="clock"/> as it is read.</summary>
    public async Task<bool> StreamFramesAsync(FrameClock clock)
    {
        try
        {
            await _call.RequestStream.WriteAsync(_request);
            while (await _call.ResponseStream.MoveNext(CancellationToken.None))
            {
                var response = _call.ResponseStream.Current;
                if (response.FinishReason.Length > 0 || !response.Success) return response.Success;
                if (response.Data is { } data && data.Contents.FirstOrDefault(c => !c.Content_.IsEmpty) is { } content)
                    clock.Frame(clock.GapsUs is null ? 0 : ChunkStamp.Read(content.Content_.Span));
            }
        }
        catch (Exception ex) when (ex is RpcException or IOException or InvalidOperationException or ObjectDisposedException) { }
        Broken = true;
        return false;
    }

    public void Dispose() => _call.Dispose();
}

/// <summary>
/// Where the paced regimes (e, f) ask for streamed chats and watch each content delta arrive: the upstream directly
/// (HTTP/SSE), a gateway in front of it, or one persistent <c>StreamChat</c> of ours.
/// </summary>
internal interface IFramedTarget
{
    /// <summary>One streamed chat; stamps every content delta on <paramref name="clock"/>; true when it ended well.</summary>
    Task<bool> StreamFramesAsync(FrameClock clock);
}

/// <summary>
/// The arrival clock of one stream's content deltas as the caller sees them: how many arrived, the longest gap between two
/// consecutive ones and, when asked, every gap. One per stream, used by one chat at a time (no locks).
/// </summary>
internal sealed class FrameClock(bool keepGaps)
{
    private long _last;

    public long Frames { get; private set; }
    public long MaxGapTicks { get; private set; }
    /// <summary>When the longest gap ended (a <see cref="Stopwatch"/> timestamp).</summary>
    public long MaxGapEnded { get; private set; }
    public double MaxGapMs => MaxGapTicks * 1e3 / Stopwatch.Frequency;
    /// <summary>Every gap in µs (regime e); null when only the count and the longest gap matter (regime f, up to 10,000 streams).</summary>
    public List<double>? GapsUs { get; } = keepGaps ? [] : null;
    /// <summary>Regime e: each stamped chunk's time from the upstream's send to here, µs (<see cref="ChunkStamp"/>).</summary>
    public List<double>? TransitUs { get; } = keepGaps ? [] : null;

    /// <summary>A content delta arrived now; <paramref name="sentAt"/>: the upstream's stamp in it, 0 if none.</summary>
    public void Frame(long sentAt = 0)
    {
        var now = Stopwatch.GetTimestamp();
        if (sentAt > 0) TransitUs?.Add((now - sentAt) * 1e6 / Stopwatch.Frequency);
        if (_last != 0)
        {
            var gap = now - _last;
            if (gap > MaxGapTicks) (MaxGapTicks, MaxGapEnded) = (gap, now);
            GapsUs?.Add(gap * 1e6 / Stopwatch.Frequency);
        }
        _last = now;
        Frames++;
    }

    /// <summary>The next delta starts a new chat: the wait before it is the upstream's time to first token, not a chunk gap.</summary>
    public void NewChat() => _last = 0;
}

internal static class Format
{
    public static string Us(double us) => us.ToString(us >= 100 ? "0" : "0.0", CultureInfo.InvariantCulture);
}
