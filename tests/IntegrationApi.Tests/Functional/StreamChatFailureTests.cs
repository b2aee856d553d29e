using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Microsoft.Extensions.Time.Testing;
using IntegrationApi.Testing;
using IntegrationApi.Tests.Infrastructure;
using static IntegrationApi.Tests.Infrastructure.TestRequests;
using Proto = IntegrationApi.Contracts;

namespace IntegrationApi.Tests.Functional;

/// <summary>Contract §3 items 6, 10, 11 and §4: every failure is one terminal with the right code, and the stream goes on.</summary>
public sealed class StreamChatFailureTests
{
    public static IEnumerable<object[]> AllProviders => ProviderCases;

    private static async Task<Proto.ChatResponse> OneTerminalThenHealthyAsync(TestGateway gateway, string provider, Proto.ChatRequest request,
        Func<ChatStream, Task>? afterSend = null, Func<Task, Task>? whileWaiting = null)
    {
        using var stream = gateway.OpenStream(provider);
        await stream.SendAsync(request);
        if (afterSend is not null) await afterSend(stream);
        Proto.ChatResponse terminal;
        if (whileWaiting is null) terminal = await stream.ReadUntilAsync(ChatStream.IsTerminal);
        else
        {
            var reading = stream.ReadUntilAsync(ChatStream.IsTerminal);
            await whileWaiting(reading);
            terminal = await reading;
        }
        // The stream goes on: a good request on the same stream still works.
        await stream.SendAsync(gateway.NewChat(provider, "healthy"));
        var next = await stream.ReadUntilAsync(ChatStream.IsTerminal);
        Assert.True(next.Success, next.Describe());
        await stream.CompleteAsync();
        Assert.Equal(StatusCode.OK, (await stream.ReadToEndAsync()).StatusCode);
        return terminal;
    }

    [Theory, MemberData(nameof(AllProviders))]
    public async Task ProviderRejectsCredential_401Terminal_StreamGoesOn(string provider)
    {
        await using var gateway = await TestGateway.StartAsync();
        var terminal = await OneTerminalThenHealthyAsync(gateway, provider, gateway.NewChat(provider, "hi", key: "wrong-key"));
        Assert.False(terminal.Success);
        Assert.Equal(401, terminal.Code);
        Assert.Equal("error", terminal.FinishReason);
        Assert.Equal(401UL, terminal.Error.ErrorCode);
        Assert.NotEmpty(terminal.Error.ErrorMessage);
        Assert.DoesNotContain("wrong-key", terminal.Error.ErrorMessage + terminal.Error.HumanMessage);
        Assert.Equal("FAILED", terminal.Metric("STATUS"));
        // 401 is not retried; Vertex's bad service account fails at the token exchange, before any API call.
        Assert.Equal(provider == "vertexai" ? 1 : 2, gateway.Fake(provider).Requests.Count);
    }

    public static IEnumerable<object[]> BadRequests()
    {
        foreach (var provider in new[] { "openai", "anthropic" })
        {
            var noCredential = NewChat(provider, "x"); noCredential.Credential = null;
            yield return [provider, "no credential", noCredential, "credential"];
            var noConversations = NewChat(provider, "x"); noConversations.Conversations.Clear();
            yield return [provider, "no conversations", noConversations, "conversations"];
            var badRole = NewChat(provider, "x"); badRole.Conversations[0].Role = "wizard";
            yield return [provider, "unknown role", badRole, "role"];
            var badParam = NewChat(provider, "x"); badParam.ModelParameters["model.temperature"] = Param(Value.ForString("warm"));
            yield return [provider, "unparseable parameter", badParam, "model.temperature"];
            var foreign = NewChat(provider, "x"); foreign.ProviderName = provider == "openai" ? "anthropic" : "openai";
            yield return [provider, "provider name of another service", foreign, "providerName"];
            var noModel = NewChat(provider, "x"); noModel.ModelParameters.Remove("model.name");
            yield return [provider, "no model", noModel, "model.name"];
            var badAny = NewChat(provider, "x"); badAny.ModelParameters["model.top_p"] = Any.Pack(new Timestamp());
            yield return [provider, "unsupported Any type", badAny, "model.top_p"];
            var badTool = NewChat(provider, "x"); badTool.ToolDefinitions.Add(new Proto.ToolDefinition { Type = "function" });
            yield return [provider, "tool without name", badTool, "toolDefinitions[0]"];
            var badAction = NewChat(provider, "x"); badAction.Action = (Proto.ChatAction)7;
            yield return [provider, "unknown action", badAction, "action 7"];
            var badUtf8 = NewChat(provider, "x"); badUtf8.Conversations[0].Contents[0].Content_ = Google.Protobuf.ByteString.CopyFrom(0xff, 0xfe);
            yield return [provider, "invalid UTF-8", badUtf8, "UTF-8"];
        }
    }

    [Theory, MemberData(nameof(BadRequests))]
    public async Task BadRequest_400TerminalNamingTheProblem_StreamGoesOn(string provider, string why, Proto.ChatRequest request, string named)
    {
        await using var gateway = await TestGateway.StartAsync();
        request.ClientRequestId = "bad";
        var terminal = await OneTerminalThenHealthyAsync(gateway, provider, request);
        Assert.True(terminal.Code == 400, $"{why}: {terminal.Describe()}");
        Assert.Equal("bad", terminal.ClientRequestId);
        Assert.Equal("error", terminal.FinishReason);
        Assert.Contains(named, terminal.Error.ErrorMessage);
        Assert.Single(gateway.Fake(provider).Requests); // only the healthy one reached the provider
    }

    [Theory, MemberData(nameof(AllProviders))]
    public async Task RateLimitedBeforeFirstDelta_RetriedHonouringRetryAfter(string provider)
    {
        await using var gateway = await TestGateway.StartAsync();
        var fake = gateway.Fake(provider);
        fake.Enqueue(FakeScript.Error(429, retryAfter: "0"));
        fake.Enqueue(FakeScript.Error(provider == "anthropic" ? 529 : 503));
        using var stream = gateway.OpenStream(provider);

        await stream.SendAsync(gateway.NewChat(provider, "hi"));
        var terminal = await stream.ReadUntilAsync(ChatStream.IsTerminal);

        Assert.True(terminal.Success, terminal.Describe());
        Assert.Equal("Hello! How can I help?", terminal.Text());
        Assert.Equal(3, fake.Requests.Count);
    }

    [Theory, MemberData(nameof(AllProviders))]
    public async Task RetryAfterLongerThanAllowed_NotWaitedFor_429Terminal(string provider)
    {
        await using var gateway = await TestGateway.StartAsync();
        gateway.Fake(provider).Enqueue(FakeScript.Error(429, retryAfter: "3600"));
        var terminal = await OneTerminalThenHealthyAsync(gateway, provider, gateway.NewChat(provider, "hi"));
        Assert.Equal(429, terminal.Code);
        Assert.Equal(2, gateway.Fake(provider).Requests.Count);
    }

    [Fact]
    public async Task InsufficientQuota_IsNotRetried()
    {
        await using var gateway = await TestGateway.StartAsync();
        gateway.OpenAI.Enqueue(FakeScript.Error(429, type: "insufficient_quota"));
        var terminal = await OneTerminalThenHealthyAsync(gateway, "openai", NewChat("openai", "hi"));
        Assert.Equal(429, terminal.Code);
        Assert.Contains("insufficient_quota", terminal.Error.ErrorMessage);
        Assert.Equal(2, gateway.OpenAI.Requests.Count);
    }

    [Theory, MemberData(nameof(AllProviders))]
    public async Task PersistentServerError_RetriedThenMappedTo502(string provider)
    {
        await using var gateway = await TestGateway.StartAsync();
        for (var i = 0; i < 3; i++) gateway.Fake(provider).Enqueue(FakeScript.Error(500));
        var terminal = await OneTerminalThenHealthyAsync(gateway, provider, gateway.NewChat(provider, "hi"));
        Assert.Equal(502, terminal.Code);
        Assert.Equal(4, gateway.Fake(provider).Requests.Count); // 1 + MaxRetries(2), then the healthy one
    }

    [Theory, MemberData(nameof(AllProviders))]
    public async Task StreamCutAfterFirstDelta_502_NeverRetriedNorCleanFinish(string provider)
    {
        await using var gateway = await TestGateway.StartAsync();
        // The cut waits until the client has the two deltas: an abortive close may otherwise discard
        // data still in flight, and a cut before any data is (rightly) retried.
        var deltasSeen = new TaskCompletionSource();
        gateway.Fake(provider).Enqueue(new FakeScript { TextChunks = ["a", "b", "c"], Fault = FakeFault.Cut, FaultAfterChunks = 2, FaultGate = deltasSeen.Task });
        using var stream = gateway.OpenStream(provider);
        await stream.SendAsync(gateway.NewChat(provider, "hi"));
        await stream.ReadAsync();
        await stream.ReadAsync();
        deltasSeen.SetResult();
        var terminal = await stream.ReadUntilAsync(ChatStream.IsTerminal);

        Assert.Equal(502, terminal.Code);
        Assert.Equal("error", terminal.FinishReason);
        Assert.Equal("ab", stream.DeltaText());
        Assert.Single(gateway.Fake(provider).Requests);
    }

    [Theory, MemberData(nameof(AllProviders))]
    public async Task StreamWithoutTerminalSignal_502(string provider)
    {
        await using var gateway = await TestGateway.StartAsync();
        gateway.Fake(provider).Enqueue(new FakeScript { TextChunks = ["a", "b"], Fault = FakeFault.MissingTerminal, FaultAfterChunks = 2 });
        var terminal = await OneTerminalThenHealthyAsync(gateway, provider, gateway.NewChat(provider, "hi"));
        Assert.Equal(502, terminal.Code);
        Assert.Contains("ended without", terminal.Error.ErrorMessage);
    }

    [Theory, MemberData(nameof(AllProviders))]
    public async Task MalformedChunk_502(string provider)
    {
        await using var gateway = await TestGateway.StartAsync();
        gateway.Fake(provider).Enqueue(new FakeScript { TextChunks = ["a", "b"], Fault = FakeFault.MalformedChunk, FaultAfterChunks = 1 });
        var terminal = await OneTerminalThenHealthyAsync(gateway, provider, gateway.NewChat(provider, "hi"));
        Assert.Equal(502, terminal.Code);
        Assert.Contains("sent a chunk that could not be read", terminal.Error.ErrorMessage);
        Assert.Equal(2, gateway.Fake(provider).Requests.Count);
    }

    [Theory]
    [InlineData("openai", "server_error", 502)]
    [InlineData("openai", "rate_limit_exceeded", 429)]
    [InlineData("anthropic", "overloaded_error", 503)]
    [InlineData("anthropic", "api_error", 502)]
    [InlineData("azure", "server_error", 502)]
    [InlineData("mistral", "server_error", 502)]
    [InlineData("gemini", "UNAVAILABLE", 503)]
    [InlineData("vertexai", "INTERNAL", 502)]
    [InlineData("cohere", null, 502)]
    [InlineData("replicate", null, 502)]
    public async Task InBandErrorAfterDeltas_MappedTerminal(string provider, string? errorType, int code)
    {
        await using var gateway = await TestGateway.StartAsync();
        gateway.Fake(provider).Enqueue(new FakeScript { TextChunks = ["a", "b"], Fault = FakeFault.InBandError, FaultAfterChunks = 1, ErrorType = errorType, ErrorMessage = "boom" });
        var terminal = await OneTerminalThenHealthyAsync(gateway, provider, gateway.NewChat(provider, "hi"));
        Assert.Equal(code, terminal.Code);
        if (provider != "cohere") Assert.Contains("boom", terminal.Error.ErrorMessage); // Cohere's failure carries no message
        Assert.Equal(2, gateway.Fake(provider).Requests.Count); // a delta was sent: no retry
    }

    // Timeouts run on a fake clock: the fake provider holds its answer, the test moves the service's clock past the
    // limit, and the engine's timer fires. No test waits for a timeout in real time.
    /// <summary>A gateway on a fake clock whose fake answers the first request with <paramref name="stall"/>; the task completes when that answer began streaming.</summary>
    private static async Task<(TestGateway Gateway, FakeTimeProvider Clock, Task Streaming)> StalledAsync(string provider, string setting, FakeScript stall)
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var gateway = await TestGateway.StartAsync(new Dictionary<string, string?> { [setting] = "00:00:01.500" }, time: clock);
        var streaming = new TaskCompletionSource<Task>(TaskCreationOptions.RunContinuationsAsynchronously);
        gateway.Fake(provider).Responder = r => streaming.TrySetResult(r.Streaming) ? stall : null;
        return (gateway, clock, streaming.Task.Unwrap());
    }

    [Theory, MemberData(nameof(AllProviders))]
    public async Task NoFirstToken_504_UpstreamAborted(string provider)
    {
        var (gateway, clock, received) = await StalledAsync(provider, "Engine:TimeToFirstTokenTimeout", new FakeScript { Fault = FakeFault.Stall, FaultAfterChunks = 0 });
        await using var _ = gateway;
        var terminal = await OneTerminalThenHealthyAsync(gateway, provider, gateway.NewChat(provider, "hi"), async _ =>
        {
            await received.DefaultTimeout(); // the upstream answer is under way: the first-token timer runs
            clock.Advance(TimeSpan.FromSeconds(1.5));
        });
        Assert.Equal(504, terminal.Code);
        Assert.Contains("no first token", terminal.Error.ErrorMessage);
        await gateway.Fake(provider).Requests[0].Aborted.DefaultTimeout();
    }

    [Theory, MemberData(nameof(AllProviders))]
    public async Task GapBetweenChunks_504(string provider)
    {
        var (gateway, clock, _) = await StalledAsync(provider, "Engine:IdleTimeout", new FakeScript { TextChunks = ["a", "b"], Fault = FakeFault.Stall, FaultAfterChunks = 1 });
        await using var __ = gateway;
        var terminal = await OneTerminalThenHealthyAsync(gateway, provider, gateway.NewChat(provider, "hi"),
            stream => stream.WaitForAsync(r => !ChatStream.IsTerminal(r)), // the first chunk arrived: the idle timer runs
            async terminalRead =>
        {
            // The engine re-arms its idle timer right after it hands the delta on; step the clock until the gap is seen.
            while (!terminalRead.IsCompleted)
            {
                clock.Advance(TimeSpan.FromSeconds(1.5));
                await Task.WhenAny(terminalRead, Task.Delay(5));
            }
        });
        Assert.Equal(504, terminal.Code);
        Assert.Contains("no chunk", terminal.Error.ErrorMessage);
        await gateway.Fake(provider).Requests[0].Aborted.DefaultTimeout();
    }

    [Theory, MemberData(nameof(AllProviders))]
    public async Task TotalTimeout_504(string provider)
    {
        var (gateway, clock, received) = await StalledAsync(provider, "Engine:TotalTimeout", new FakeScript { TextChunks = ["t", "t"], Fault = FakeFault.Stall, FaultAfterChunks = 1 });
        await using var _ = gateway;
        var terminal = await OneTerminalThenHealthyAsync(gateway, provider, gateway.NewChat(provider, "hi"), async _ =>
        {
            await received.DefaultTimeout(); // the upstream answer is under way: the total deadline runs
            clock.Advance(TimeSpan.FromSeconds(1.5));
        });
        Assert.Equal(504, terminal.Code);
        Assert.Contains("took too long", terminal.Error.ErrorMessage);
    }
}
