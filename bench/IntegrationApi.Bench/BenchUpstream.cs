using System.Buffers;
using System.Net.Http.Headers;
using System.Text;
using System.Text.RegularExpressions;
using IntegrationApi.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace IntegrationApi.Bench;

/// <summary>
/// The upstream every gateway is pointed at: OpenAI Chat Completions, answering from bytes recorded once from
/// the tested <see cref="OpenAIFake"/> (so the wire format is the one the fidelity tests prove), without
/// recording, parsing or allocating per request, so it is never the bottleneck.
/// Zero-latency mode writes the whole answer in one write; paced mode waits <see cref="TimeToFirstToken"/>
/// before the first content chunk and <see cref="ChunkGap"/> between content chunks.
/// With <see cref="ModelRules"/> on (the hedging regime), the model name decides per request: <see cref="SlowModel"/>
/// holds its first token back <see cref="SlowFirstToken"/> for the requests <see cref="IsSlow"/> picks (20 %), every
/// other request answers at once; the upstream counts what it served and what was aborted (<see cref="Counts"/>).
/// </summary>
internal sealed partial class BenchUpstream : IAsyncDisposable
{
    public const string Key = "bench-key";
    private static readonly byte[] StreamFlag = "\"stream\":true"u8.ToArray();
    private readonly WebApplication _app;
    // Answers recorded so far, by content chunk count; the paced regimes (e, f) switch to longer answers and back.
    private readonly Dictionary<(int, bool), Script> _scripts = [];
    private volatile Script _script;
    private static readonly byte[] Unauthorized = """{"error":{"message":"Incorrect API key provided.","type":"invalid_request_error","param":null,"code":"invalid_api_key"}}"""u8.ToArray();

    public string BaseUrl { get; }
    public TimeSpan TimeToFirstToken { get; set; }
    public TimeSpan ChunkGap { get; set; }
    public int ContentChunks => _script.ContentChunks;

    /// <summary>The model that is slow for <see cref="SlowPercent"/> % of requests; any other model (e.g. <see cref="FastModel"/>) never is.</summary>
    public const string SlowModel = "slow-sometimes";
    public const string FastModel = "fast";
    /// <summary>The request number the caller writes into its prompt: <c>bench-req-123</c>.</summary>
    public const string RequestMarker = "bench-req-";
    public const int SlowPercent = 20;
    public const int Seed = 20261129;
    private static readonly byte[] SlowModelJson = "\"model\":\"slow-sometimes\""u8.ToArray();
    private static readonly byte[] MarkerBytes = "bench-req-"u8.ToArray();
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<int, bool[]> SlowBlocks = new();

    /// <summary>Whether the model name (and the request number in the prompt) decide each request's latency.</summary>
    public bool ModelRules { get; set; }
    public TimeSpan SlowFirstToken { get; set; } = TimeSpan.FromSeconds(2);
    public UpstreamCounts Counts { get; } = new();

    /// <summary>
    /// Whether request number <paramref name="n"/> of <see cref="SlowModel"/> is slow: exactly <see cref="SlowPercent"/> of
    /// every block of 100 numbers, picked by a shuffle seeded with <see cref="Seed"/> and the block, so a number is slow
    /// or not whatever the order requests arrive in.
    /// </summary>
    public static bool IsSlow(int n) => SlowBlocks.GetOrAdd(n / 100, block =>
    {
        var order = Enumerable.Range(0, 100).ToArray();
        new Random(Seed + block).Shuffle(order);
        var slow = new bool[100];
        foreach (var i in order.Take(SlowPercent)) slow[i] = true;
        return slow;
    })[n % 100];
    private BenchUpstream(WebApplication app, string baseUrl, Script script)
    {
        (_app, BaseUrl, _script) = (app, baseUrl, script);
        _scripts[(script.ContentChunks, false)] = script;
    }

    [GeneratedRegex("\"delta\":\\{\"content\":\"[^\"]")]
    private static partial Regex ContentFrame();

    /// <summary>
    /// One recorded answer: the whole SSE body, the same split into frames (which of them carry content), the JSON answer.
    /// A stamped answer's content chunks are each <see cref="ChunkStamp.Placeholder"/>, where the paced upstream writes
    /// the time it sent the frame (<see cref="ChunkStamp"/>).
    /// </summary>
    private sealed class Script
    {
        public Script(byte[] streamBody, byte[] unaryBody, bool stamped)
        {
            (StreamBody, UnaryBody) = (streamBody, unaryBody);
            var frames = Encoding.UTF8.GetString(streamBody).Split("\n\n", StringSplitOptions.RemoveEmptyEntries).Select(f => f + "\n\n").ToArray();
            Frames = frames.Select(Encoding.UTF8.GetBytes).ToArray();
            IsContent = frames.Select(f => ContentFrame().IsMatch(f)).ToArray();
            ContentChunks = IsContent.Count(c => c);
            StampAt = Frames.Select((f, i) => stamped && IsContent[i] ? f.AsSpan().IndexOf(ChunkStamp.PlaceholderBytes) + 1 : -1).ToArray(); // after the 't'
        }

        /// <summary>Where in each frame the digits of its stamp go; -1: not stamped.</summary>
        public int[] StampAt { get; }

        public byte[] StreamBody { get; }
        public byte[] UnaryBody { get; }
        public byte[][] Frames { get; }
        public bool[] IsContent { get; }
        public int ContentChunks { get; }
    }

    /// <summary>Records the fake's answer to a <paramref name="chunks"/>-chunk script, then serves it on a free loopback port.</summary>
    public static async Task<BenchUpstream> StartAsync(int chunks)
    {
        var (stream, unary) = await RecordAsync(chunks, stamped: false);
        BenchUpstream? self = null;
        var (app, address) = await LoopbackApp.StartAsync(context => self!.HandleAsync(context));
        self = new BenchUpstream(app, address + "/v1", new Script(stream, unary, stamped: false));
        return self;
    }

    /// <summary>
    /// From now on every answer has <paramref name="chunks"/> content chunks (recorded from the fake the first time),
    /// <paramref name="stamped"/>: each carrying the time it was sent (paced mode); returns the previous count so a regime
    /// can switch back. Only between regimes: a chat in flight keeps its answer.
    /// </summary>
    public async Task<int> UseChunksAsync(int chunks, bool stamped = false)
    {
        var previous = _script.ContentChunks;
        if (!_scripts.TryGetValue((chunks, stamped), out var script))
        {
            var (stream, unary) = await RecordAsync(chunks, stamped);
            script = _scripts[(chunks, stamped)] = new Script(stream, unary, stamped);
            if (script.ContentChunks != chunks) throw new InvalidOperationException($"recorded {script.ContentChunks} content chunks, asked for {chunks}");
        }
        _script = script;
        return previous;
    }

    private static async Task<(byte[] Stream, byte[] Unary)> RecordAsync(int chunks, bool stamped)
    {
        await using var fake = new OpenAIFake { ValidKey = Key };
        var words = Enumerable.Range(0, chunks).Select(i => stamped ? ChunkStamp.Placeholder : i == 0 ? "Hello" : $" word{i}").ToArray();
        fake.DefaultScript = new FakeScript { TextChunks = words, InputTokens = 12, OutputTokens = chunks };
        await fake.StartAsync();
        using var http = new HttpClient();
        async Task<byte[]> Fetch(bool stream)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, fake.BaseUrl + "/chat/completions")
            {
                Content = new StringContent(BenchRequests.OpenAIBody(stream), Encoding.UTF8, "application/json"),
            };
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", Key);
            using var response = await http.SendAsync(request);
            response.EnsureSuccessStatusCode();
            return await response.Content.ReadAsByteArrayAsync();
        }
        return (await Fetch(true), await Fetch(false));
    }

    private async Task HandleAsync(HttpContext context)
    {
        var (streaming, slowNumber) = await ReadBodyAsync(context.Request, ModelRules);
        var response = context.Response;
        if (!context.Request.Headers.Authorization.ToString().EndsWith(Key, StringComparison.Ordinal))
        {
            response.StatusCode = 401;
            response.ContentType = "application/json";
            await response.Body.WriteAsync(Unauthorized);
            return;
        }
        response.Headers["x-request-id"] = "req_bench";
        var (firstToken, gap) = (TimeToFirstToken, ChunkGap);
        var script = _script;
        if (ModelRules)
        {
            var slow = slowNumber >= 0 && IsSlow(slowNumber);
            if (slowNumber >= -1) Interlocked.Increment(ref Counts.SlowModel);
            else Interlocked.Increment(ref Counts.OtherModel);
            if (slow) Interlocked.Increment(ref Counts.HeldBack);
            (firstToken, gap) = (slow ? SlowFirstToken : TimeSpan.Zero, TimeSpan.Zero);
        }
        if (!streaming)
        {
            if (firstToken > TimeSpan.Zero) await Task.Delay(firstToken + gap * (script.ContentChunks - 1));
            response.ContentType = "application/json";
            response.ContentLength = script.UnaryBody.Length;
            await response.Body.WriteAsync(script.UnaryBody);
            return;
        }
        response.ContentType = "text/event-stream; charset=utf-8";
        response.Headers.CacheControl = "no-cache";
        if (firstToken <= TimeSpan.Zero && gap <= TimeSpan.Zero)
        {
            await response.Body.WriteAsync(script.StreamBody);
            return;
        }
        var first = true;
        try
        {
            for (var i = 0; i < script.Frames.Length; i++)
            {
                if (script.IsContent[i] && (first || gap > TimeSpan.Zero))
                {
                    await response.Body.FlushAsync();
                    await Task.Delay(first ? firstToken : gap, context.RequestAborted);
                    first = false;
                }
                await response.Body.WriteAsync(script.StampAt[i] < 0 ? script.Frames[i] : ChunkStamp.Write(script.Frames[i], script.StampAt[i]), context.RequestAborted);
            }
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            if (ModelRules) Interlocked.Increment(ref Counts.Aborted); // the caller went away before the answer was complete
        }
    }

    /// <summary>
    /// Reads the whole request body: whether it asks for a stream and, with <paramref name="modelRules"/>, for
    /// <see cref="SlowModel"/> the request number in its prompt (-1 when it has none), for any other model -2.
    /// </summary>
    private static async Task<(bool Streaming, int SlowNumber)> ReadBodyAsync(HttpRequest request, bool modelRules)
    {
        var reader = request.BodyReader;
        while (true)
        {
            var result = await reader.ReadAsync();
            if (result.IsCompleted)
            {
                var found = IndexOf(result.Buffer, StreamFlag);
                var number = modelRules ? SlowRequestNumber(result.Buffer) : -2;
                reader.AdvanceTo(result.Buffer.End);
                return (found, number);
            }
            reader.AdvanceTo(result.Buffer.Start, result.Buffer.End);
        }
    }

    private static int SlowRequestNumber(ReadOnlySequence<byte> buffer)
    {
        var body = buffer.IsSingleSegment ? buffer.FirstSpan : buffer.ToArray();
        if (body.IndexOf(SlowModelJson) < 0) return -2;
        var at = body.IndexOf(MarkerBytes);
        if (at < 0) return -1;
        var digits = body[(at + MarkerBytes.Length)..];
        var n = 0;
        var any = false;
        foreach (var b in digits)
        {
            if (b is < (byte)'0' or > (byte)'9') break;
            n = n * 10 + (b - '0');
            any = true;
        }
        return any ? n : -1;
    }

    private static bool IndexOf(ReadOnlySequence<byte> buffer, byte[] needle)
    {
        if (buffer.IsSingleSegment) return buffer.FirstSpan.IndexOf(needle) >= 0;
        return buffer.ToArray().AsSpan().IndexOf(needle) >= 0;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}

/// <summary>What the upstream served while <see cref="BenchUpstream.ModelRules"/> was on; fields, for <see cref="Interlocked"/>.</summary>
internal sealed class UpstreamCounts
{
    public int SlowModel;
    public int OtherModel;
    public int HeldBack;
    public int Aborted;

    public int Requests => Volatile.Read(ref SlowModel) + Volatile.Read(ref OtherModel);

    public void Reset()
    {
        Volatile.Write(ref SlowModel, 0);
        Volatile.Write(ref OtherModel, 0);
        Volatile.Write(ref HeldBack, 0);
        Volatile.Write(ref Aborted, 0);
    }
}

/// <summary>
/// The send time the paced upstream writes into each content chunk of a stamped answer (regime e): " t" and 19 digits of
/// <see cref="System.Diagnostics.Stopwatch.GetTimestamp"/>. The upstream and the caller are one process, one clock, so
/// the caller reads off each chunk's transit time through the path, which no timer jitter of the upstream is part of.
/// Gateways pass content through as it is, so the stamp survives them.
/// </summary>
internal static class ChunkStamp
{
    public const string Placeholder = " t0000000000000000000";
    public static readonly byte[] PlaceholderBytes = Encoding.ASCII.GetBytes(Placeholder.TrimStart());
    private const int Digits = 19;

    /// <summary>A copy of <paramref name="frame"/> with the current time at <paramref name="at"/>.</summary>
    public static byte[] Write(byte[] frame, int at)
    {
        var copy = (byte[])frame.Clone();
        var now = System.Diagnostics.Stopwatch.GetTimestamp();
        for (var i = at + Digits - 1; i >= at; i--, now /= 10) copy[i] = (byte)('0' + now % 10);
        return copy;
    }

    /// <summary>The stamp in a chunk's text (UTF-8 bytes or chars), or 0 when there is none.</summary>
    public static long Read(ReadOnlySpan<byte> text)
    {
        var at = text.IndexOf(PlaceholderBytes.AsSpan(0, 1));
        return at < 0 || text.Length < at + 1 + Digits ? 0 : Parse(text.Slice(at + 1, Digits), b => b);
    }

    public static long Read(ReadOnlySpan<char> text)
    {
        var at = text.IndexOf("\"content\":\" t", StringComparison.Ordinal); // an SSE event's JSON
        return at < 0 || text.Length < at + 13 + Digits ? 0 : Parse(text.Slice(at + 13, Digits), c => c);
    }

    private static long Parse<T>(ReadOnlySpan<T> digits, Func<T, int> value)
    {
        long n = 0;
        foreach (var d in digits)
        {
            var v = value(d) - '0';
            if (v is < 0 or > 9) return 0;
            n = n * 10 + v;
        }
        return n;
    }
}
