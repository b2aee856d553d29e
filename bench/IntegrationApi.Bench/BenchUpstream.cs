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
/// </summary>
internal sealed partial class BenchUpstream : IAsyncDisposable
{
    public const string Key = "bench-key";
    private static readonly byte[] StreamFlag = "\"stream\":true"u8.ToArray();
    private readonly WebApplication _app;
    private readonly byte[] _streamBody;
    private readonly byte[][] _frames;
    private readonly bool[] _isContent;
    private readonly byte[] _unaryBody;
    private static readonly byte[] Unauthorized = """{"error":{"message":"Incorrect API key provided.","type":"invalid_request_error","param":null,"code":"invalid_api_key"}}"""u8.ToArray();

    public string BaseUrl { get; }
    public TimeSpan TimeToFirstToken { get; set; }
    public TimeSpan ChunkGap { get; set; }
    public int ContentChunks => _isContent.Count(c => c);

    private BenchUpstream(WebApplication app, string baseUrl, byte[] streamBody, byte[] unaryBody)
    {
        (_app, BaseUrl, _streamBody, _unaryBody) = (app, baseUrl, streamBody, unaryBody);
        var text = Encoding.UTF8.GetString(streamBody);
        var frames = text.Split("\n\n", StringSplitOptions.RemoveEmptyEntries).Select(f => f + "\n\n").ToArray();
        _frames = frames.Select(Encoding.UTF8.GetBytes).ToArray();
        _isContent = frames.Select(f => ContentFrame().IsMatch(f)).ToArray();
    }

    [GeneratedRegex("\"delta\":\\{\"content\":\"[^\"]")]
    private static partial Regex ContentFrame();

    /// <summary>Records the fake's answer to a <paramref name="chunks"/>-chunk script, then serves it on a free loopback port.</summary>
    public static async Task<BenchUpstream> StartAsync(int chunks)
    {
        var (stream, unary) = await RecordAsync(chunks);
        BenchUpstream? self = null;
        var (app, address) = await LoopbackApp.StartAsync(context => self!.HandleAsync(context));
        self = new BenchUpstream(app, address + "/v1", stream, unary);
        return self;
    }

    private static async Task<(byte[] Stream, byte[] Unary)> RecordAsync(int chunks)
    {
        await using var fake = new OpenAIFake { ValidKey = Key };
        var words = Enumerable.Range(0, chunks).Select(i => i == 0 ? "Hello" : $" word{i}").ToArray();
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
        var streaming = await ReadBodyAsync(context.Request);
        var response = context.Response;
        if (!context.Request.Headers.Authorization.ToString().EndsWith(Key, StringComparison.Ordinal))
        {
            response.StatusCode = 401;
            response.ContentType = "application/json";
            await response.Body.WriteAsync(Unauthorized);
            return;
        }
        response.Headers["x-request-id"] = "req_bench";
        if (!streaming)
        {
            if (TimeToFirstToken > TimeSpan.Zero) await Task.Delay(TimeToFirstToken + ChunkGap * (ContentChunks - 1));
            response.ContentType = "application/json";
            response.ContentLength = _unaryBody.Length;
            await response.Body.WriteAsync(_unaryBody);
            return;
        }
        response.ContentType = "text/event-stream; charset=utf-8";
        response.Headers.CacheControl = "no-cache";
        if (TimeToFirstToken <= TimeSpan.Zero && ChunkGap <= TimeSpan.Zero)
        {
            await response.Body.WriteAsync(_streamBody);
            return;
        }
        var first = true;
        for (var i = 0; i < _frames.Length; i++)
        {
            if (_isContent[i])
            {
                await response.Body.FlushAsync();
                await Task.Delay(first ? TimeToFirstToken : ChunkGap, context.RequestAborted);
                first = false;
            }
            await response.Body.WriteAsync(_frames[i], context.RequestAborted);
        }
    }

    /// <summary>Reads the whole request body; true when it asks for a stream.</summary>
    private static async Task<bool> ReadBodyAsync(HttpRequest request)
    {
        var reader = request.BodyReader;
        while (true)
        {
            var result = await reader.ReadAsync();
            if (result.IsCompleted)
            {
                var found = IndexOf(result.Buffer, StreamFlag);
                reader.AdvanceTo(result.Buffer.End);
                return found;
            }
            reader.AdvanceTo(result.Buffer.Start, result.Buffer.End);
        }
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
