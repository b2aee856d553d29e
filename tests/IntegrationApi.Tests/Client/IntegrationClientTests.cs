using Grpc.Core;
using IntegrationApi.Client;
using IntegrationApi.Testing;
using IntegrationApi.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Proto = IntegrationApi.Contracts;

namespace IntegrationApi.Tests.Client;

/// <summary>The client library against the real service and fakes: multiplexing, cancel, reconnect, fallback.</summary>
public sealed class IntegrationClientTests
{
    private static IntegrationClient NewClient(TestGateway gateway, int perStream = 32, int streams = 4) =>
        new(gateway.Channel, new IntegrationClientOptions
        {
            Headers = () => TestGateway.AuthHeaders(),
            MaxInFlightPerStream = perStream,
            MaxStreams = streams,
        });

    private static Proto.ChatRequest Chat(TestGateway gateway, string prompt)
    {
        var request = gateway.NewChat("openai", prompt);
        request.ProviderName = "openai";
        return request;
    }

    [Fact]
    public async Task ManyConcurrentChats_ShareAFewStreams_EachGetsItsOwnAnswer()
    {
        await using var gateway = await TestGateway.StartAsync();
        gateway.OpenAI.Responder = r => new FakeScript { TextChunks = ["echo:", r.Json!.Value.GetProperty("messages")[0].GetProperty("content").GetString()!] };
        await using var client = NewClient(gateway, perStream: 8, streams: 2);

        var answers = await Task.WhenAll(Enumerable.Range(0, 24).Select(i => client.ChatAsync(Chat(gateway, $"p{i}"))));

        for (var i = 0; i < answers.Length; i++)
        {
            Assert.True(answers[i].Success, answers[i].Describe());
            Assert.Equal($"echo:p{i}", answers[i].Text());
        }
        Assert.InRange(client.StreamsOpened, 1, 2);
    }

    [Fact]
    public async Task StreamAsync_DeltasThenTerminal()
    {
        await using var gateway = await TestGateway.StartAsync();
        gateway.OpenAI.DefaultScript = new FakeScript { TextChunks = ["a", "b", "c"] };
        await using var client = NewClient(gateway);

        var responses = new List<Proto.ChatResponse>();
        await foreach (var r in client.StreamAsync(Chat(gateway, "hi"))) responses.Add(r);

        Assert.Equal(["a", "b", "c"], responses.Take(3).Select(r => r.Text()));
        Assert.True(ChatStream.IsTerminal(responses[^1]));
        Assert.Equal("abc", responses[^1].Text());
    }

    [Fact]
    public async Task CancellingOneRequest_CancelsOnlyIt_UpstreamAborted()
    {
        await using var gateway = await TestGateway.StartAsync();
        gateway.OpenAI.On("victim", new FakeScript { TextChunks = ["v1", "v2"], Fault = FakeFault.Stall, FaultAfterChunks = 1 });
        gateway.OpenAI.On("other", new FakeScript { TextChunks = ["fine"] });
        await using var client = NewClient(gateway);
        using var cts = new CancellationTokenSource();

        var victim = Task.Run(async () =>
        {
            await foreach (var _ in client.StreamAsync(Chat(gateway, "victim"), cts.Token)) cts.Cancel(); // stop at the first delta
        });
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => victim.DefaultTimeout());
        var other = await client.ChatAsync(Chat(gateway, "other")).DefaultTimeout();

        Assert.Equal("fine", other.Text());
        await gateway.OpenAI.Requests.Single(r => r.Body.Contains("victim")).Aborted.DefaultTimeout();
        Assert.Equal(1, client.StreamsOpened); // one stream carried both
    }

    [Fact]
    public async Task StreamEndedByTheServer_NewRequestsOpenANewStream()
    {
        var clock = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var gateway = await TestGateway.StartAsync(new Dictionary<string, string?> { ["Engine:MaxStreamAge"] = "00:05:00", ["Engine:DrainLinger"] = "00:00:00" }, time: clock);
        await using var client = NewClient(gateway);

        Assert.True((await client.ChatAsync(Chat(gateway, "one"))).Success);
        // The stream reaches its maximum age on the service's clock; the server drains and ends it; the client sees that.
        clock.Advance(TimeSpan.FromMinutes(5.5)); // the age is jittered by up to ±10 %
        var deadline = DateTime.UtcNow + TaskTimeoutExtensions.Limit;
        while (client.OpenStreams > 0 && DateTime.UtcNow < deadline) await Task.Delay(10);
        Assert.Equal(0, client.OpenStreams);

        Assert.True((await client.ChatAsync(Chat(gateway, "two"))).Success);
        Assert.Equal(2, client.StreamsOpened);
    }

    [Fact]
    public async Task StreamDraining_RequestRefusedAsNotRun_ResentOnANewStream_RunningOneFinishesOnTheOld()
    {
        var clock = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var gateway = await TestGateway.StartAsync(new Dictionary<string, string?>
        {
            ["Engine:MaxStreamAge"] = "00:05:00", ["Engine:DrainTimeout"] = "01:00:00", ["Engine:DrainLinger"] = "00:00:00",
            ["Engine:IdleTimeout"] = "1.00:00:00", ["Engine:TotalTimeout"] = "1.00:00:00", ["Engine:TimeToFirstTokenTimeout"] = "1.00:00:00",
        }, time: clock);
        var release = new TaskCompletionSource();
        gateway.OpenAI.On("long", new FakeScript { TextChunks = ["first", " rest"], FaultAfterChunks = 1, FaultGate = release.Task });
        await using var client = NewClient(gateway);
        try
        {
            var running = client.StreamAsync(Chat(gateway, "long")).GetAsyncEnumerator();
            Assert.True(await running.MoveNextAsync().AsTask().DefaultTimeout());   // its first delta: it is running
            clock.Advance(TimeSpan.FromMinutes(5.5));                               // the stream drains; "long" goes on
            var deadline = DateTime.UtcNow + TaskTimeoutExtensions.Limit;
            while (!gateway.Logs.Entries.Any(e => e.Message.StartsWith("Stream draining (max-age)", StringComparison.Ordinal)) && DateTime.UtcNow < deadline)
                await Task.Delay(10);

            // Sent to the draining stream (the least busy), refused there as not run, re-sent on a new stream.
            var late = await client.ChatAsync(Chat(gateway, "late")).DefaultTimeout();
            Assert.True(late.Success, late.Describe());
            Assert.Equal(1, client.Resent);
            Assert.Equal(2, client.StreamsOpened);

            release.SetResult();
            var texts = new List<string>();
            while (await running.MoveNextAsync().AsTask().DefaultTimeout()) texts.Add(running.Current.FinishReason);
            Assert.Equal("stop", texts[^1]);                                      // the running one finished on the old stream
            await running.DisposeAsync();
        }
        finally { release.TrySetResult(); } // a failure above must not leave the client's dispose waiting on "long"
    }

    /// <summary>A bare gRPC server with one LlmService implementation, for behaviours the real service never shows.</summary>
    private static async Task<(WebApplication App, Grpc.Net.Client.GrpcChannel Channel)> StartServerAsync<TService>(TService service) where TService : class
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Configuration.Sources.Clear();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrelCore().ConfigureKestrel(k => k.Listen(System.Net.IPAddress.Loopback, 0, l => l.Protocols = HttpProtocols.Http2));
        builder.Services.AddGrpc();
        builder.Services.AddSingleton(service);
        var app = builder.Build();
        app.MapGrpcService<TService>();
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return (app, Grpc.Net.Client.GrpcChannel.ForAddress(address));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task StreamEndsUnderARequest_ResentOnceBeforeItsFirstDelta_FailsClearlyAfter(bool deltaFirst)
    {
        var service = new FailingFirstStreamService(deltaFirst);
        var (app, channel) = await StartServerAsync(service);
        await using var _ = app;
        using var __ = channel;
        await using var client = new IntegrationClient(channel);

        if (deltaFirst)
        {
            // It had started answering: re-sending could repeat text, so it fails, saying why.
            var error = await Assert.ThrowsAsync<IntegrationStreamException>(() => client.ChatAsync(new Proto.ChatRequest { ProviderName = "openai" }).DefaultTimeout());
            Assert.Equal(StatusCode.Unavailable, error.Status.StatusCode);
            Assert.Contains("not re-sent", error.Message);
        }
        else
        {
            var answer = await client.ChatAsync(new Proto.ChatRequest { ProviderName = "openai" }).DefaultTimeout();
            Assert.Equal("second stream", answer.Text());
        }
        Assert.Equal(deltaFirst ? 1 : 2, service.Streams);
        Assert.Equal(deltaFirst ? 1 : 2, client.StreamsOpened);
    }

    /// <summary>The first stream reads one request and dies (after a delta, or before); later streams answer.</summary>
    private sealed class FailingFirstStreamService(bool deltaFirst) : Proto.LlmService.LlmServiceBase
    {
        private int _streams;
        public int Streams => Volatile.Read(ref _streams);

        public override async Task StreamChat(IAsyncStreamReader<Proto.ChatRequest> requests, IServerStreamWriter<Proto.ChatResponse> responses, ServerCallContext context)
        {
            var first = Interlocked.Increment(ref _streams) == 1;
            while (await requests.MoveNext(context.CancellationToken))
            {
                var id = requests.Current.ClientRequestId;
                if (first)
                {
                    if (deltaFirst) await responses.WriteAsync(Answer(id, "partial", terminal: false));
                    throw new RpcException(new Status(StatusCode.Unavailable, "gone"));
                }
                await responses.WriteAsync(Answer(id, "second stream", terminal: true));
            }
        }

        private static Proto.ChatResponse Answer(string id, string text, bool terminal) => new()
        {
            Code = 200, Success = true, ClientRequestId = id, FinishReason = terminal ? "stop" : "",
            Data = new Contracts.Common.Message { Role = "assistant", Contents = { new Contracts.Common.Content { ContentType = "text", Content_ = Google.Protobuf.ByteString.CopyFromUtf8(text) } } },
        };
    }

    [Fact]
    public async Task ServerWithoutBidirectionalStreamChat_FallsBackToUnaryChat()
    {
        var (app, channel) = await StartServerAsync(new UnaryOnlyLlmService());
        await using var _ = app;
        using var __ = channel;
        await using var client = new IntegrationClient(channel);

        var first = await client.ChatAsync(new Proto.ChatRequest { ProviderName = "openai" }).DefaultTimeout();
        var second = await client.ChatAsync(new Proto.ChatRequest { ProviderName = "openai" }).DefaultTimeout();

        Assert.Equal("unary answer", first.Text());
        Assert.Equal("unary answer", second.Text());
        Assert.True(client.UsesUnaryFallback);
    }

    /// <summary>An old server: Chat only; StreamChat answers Unimplemented.</summary>
    private sealed class UnaryOnlyLlmService : Proto.LlmService.LlmServiceBase
    {
        public override Task<Proto.ChatResponse> Chat(Proto.ChatRequest request, ServerCallContext context) => Task.FromResult(new Proto.ChatResponse
        {
            Code = 200, Success = true, FinishReason = "stop",
            Data = new Contracts.Common.Message { Role = "assistant", Contents = { new Contracts.Common.Content { ContentType = "text", Content_ = Google.Protobuf.ByteString.CopyFromUtf8("unary answer") } } },
        });
    }
}
