using System.Buffers.Binary;
using System.Net;
using System.Threading.Channels;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Proto = IntegrationApi.Contracts;

namespace IntegrationApi.Tests.Infrastructure;

/// <summary>
/// A gRPC call spoken at the HTTP/2 level (h2c, prior knowledge), so a test can send bytes no gRPC client
/// would: bad length prefixes, undecodable payloads, compressed flags without an encoding. The request body
/// is written on demand (<see cref="SendAsync"/>), the response is read frame by frame, and the status is
/// read from the trailers (or from the headers of a trailers-only response).
/// </summary>
public sealed class RawGrpcCall : IAsyncDisposable
{
    private readonly PushContent _body = new();
    private readonly Task<HttpResponseMessage> _send;
    private readonly CancellationTokenSource _cts = new();
    private HttpResponseMessage? _response;
    private Stream? _responseStream;
    private bool _ended;

    private RawGrpcCall(HttpClient client, string path, Grpc.Core.Metadata headers)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, path)
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Content = _body,
        };
        _body.Headers.TryAddWithoutValidation("content-type", "application/grpc");
        request.Headers.TryAddWithoutValidation("te", "trailers");
        foreach (var entry in headers) request.Headers.TryAddWithoutValidation(entry.Key, entry.Value);
        // Headers come back with the first response message (or with a trailers-only answer), so this runs
        // while the test writes the body: HTTP/2 is full duplex.
        _send = client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, _cts.Token);
    }

    /// <summary>An HTTP/2-only client for the gRPC endpoint of <paramref name="gateway"/>.</summary>
    public static HttpClient CreateClient(TestGateway gateway)
    {
        var address = gateway.App.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new HttpClient(new SocketsHttpHandler { EnableMultipleHttp2Connections = true })
        {
            BaseAddress = new Uri(address),
            DefaultRequestVersion = HttpVersion.Version20,
            DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Timeout = Timeout.InfiniteTimeSpan, // every wait is bounded by the test itself
        };
    }

    /// <summary>Starts a call to <paramref name="method"/>, e.g. <c>/integration_api.OpenAiService/StreamChat</c>.</summary>
    public static RawGrpcCall Start(HttpClient client, string method, Grpc.Core.Metadata? headers = null) =>
        new(client, method, headers ?? TestGateway.AuthHeaders());

    /// <summary>A gRPC length-prefixed message: flag, big-endian length (the real one unless given), payload.</summary>
    public static byte[] Frame(ReadOnlySpan<byte> payload, byte flag = 0, uint? length = null)
    {
        var frame = new byte[5 + payload.Length];
        frame[0] = flag;
        BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(1), length ?? (uint)payload.Length);
        payload.CopyTo(frame.AsSpan(5));
        return frame;
    }

    public static byte[] Frame(Google.Protobuf.IMessage message) => Frame(Google.Protobuf.MessageExtensions.ToByteArray(message));

    /// <summary>Writes raw bytes to the request body (and flushes them).</summary>
    public ValueTask SendAsync(byte[] bytes) => _body.Chunks.Writer.WriteAsync(bytes);

    /// <summary>Ends the request body (client half-close).</summary>
    public void CompleteBody() => _body.Chunks.Writer.TryComplete();

    /// <summary>The response headers (awaits them).</summary>
    public async Task<HttpResponseMessage> ResponseAsync()
    {
        if (_response is not null) return _response;
        _response = await _send.DefaultTimeout();
        return _response;
    }

    /// <summary>Reads the next response message, or null at the end of the response body.</summary>
    public async Task<Proto.ChatResponse?> ReadAsync()
    {
        if (_ended) return null;
        var response = await ResponseAsync();
        _responseStream ??= await response.Content.ReadAsStreamAsync().DefaultTimeout();
        var header = new byte[5];
        var got = await ReadFullyAsync(_responseStream, header).DefaultTimeout();
        if (got == 0) { _ended = true; return null; }
        if (got < 5) throw new InvalidDataException($"the response ended inside a message header ({got} of 5 bytes)");
        if (header[0] != 0) throw new InvalidDataException($"the response message has compressed flag {header[0]}");
        var payload = new byte[BinaryPrimitives.ReadUInt32BigEndian(header.AsSpan(1))];
        if (await ReadFullyAsync(_responseStream, payload).DefaultTimeout() != payload.Length)
            throw new InvalidDataException("the response ended inside a message");
        return Proto.ChatResponse.Parser.ParseFrom(payload);
    }

    /// <summary>Reads every remaining response message, then the status (grpc-status and grpc-message).</summary>
    public async Task<(List<Proto.ChatResponse> Messages, int? Status, string? Message)> ReadToEndAsync()
    {
        var messages = new List<Proto.ChatResponse>();
        while (await ReadAsync() is { } message) messages.Add(message);
        var (status, text) = Status();
        return (messages, status, text);
    }

    /// <summary>grpc-status and grpc-message, from the trailers or (trailers-only answer) the headers; call after the body ended.</summary>
    public (int? Status, string? Message) Status()
    {
        var response = _response ?? throw new InvalidOperationException("no response yet");
        string? Get(string name) =>
            response.TrailingHeaders.TryGetValues(name, out var t) ? t.FirstOrDefault()
            : response.Headers.TryGetValues(name, out var h) ? h.FirstOrDefault() : null;
        var status = Get("grpc-status");
        return (status is null ? null : int.Parse(status, System.Globalization.CultureInfo.InvariantCulture),
            Get("grpc-message") is { } m ? Uri.UnescapeDataString(m) : null);
    }

    private static async Task<int> ReadFullyAsync(Stream stream, byte[] buffer)
    {
        var read = 0;
        while (read < buffer.Length)
        {
            var n = await stream.ReadAsync(buffer.AsMemory(read));
            if (n == 0) break;
            read += n;
        }
        return read;
    }

    public async ValueTask DisposeAsync()
    {
        CompleteBody();
        _cts.Cancel();
        try { (await _send.WaitAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(false)).Dispose(); }
        catch (Exception) { /* the call is over either way */ }
        _cts.Dispose();
    }

    /// <summary>A request body whose bytes the test pushes while the call runs.</summary>
    private sealed class PushContent : HttpContent
    {
        public Channel<byte[]> Chunks { get; } = Channel.CreateUnbounded<byte[]>();

        protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) =>
            SerializeToStreamAsync(stream, context, CancellationToken.None);

        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken)
        {
            await foreach (var chunk in Chunks.Reader.ReadAllAsync(cancellationToken))
            {
                await stream.WriteAsync(chunk, cancellationToken);
                await stream.FlushAsync(cancellationToken);
            }
        }

        protected override bool TryComputeLength(out long length)
        {
            length = -1;
            return false;
        }
    }
}
