using Grpc.Core;
using IntegrationApi.Testing;
using IntegrationApi.Tests.Infrastructure;
using static IntegrationApi.Tests.Infrastructure.TestRequests;

namespace IntegrationApi.Tests.Functional;

/// <summary>Contract §3 items 4, 5 and 7: cancel, duplicates, limits, half-close and client cancel.</summary>
public sealed class StreamChatCancellationTests
{
    public static IEnumerable<object[]> AllProviders => ProviderCases;

    [Theory, MemberData(nameof(AllProviders))]
    public async Task Cancel_OneOfSeveralConcurrent_AbortsOnlyThatUpstreamCall(string provider)
    {
        await using var gateway = await TestGateway.StartAsync();
        var fake = gateway.Fake(provider);
        fake.On("victim", new FakeScript { TextChunks = ["v1", "v2"], Fault = FakeFault.Stall, FaultAfterChunks = 1 });
        fake.On("other-1", new FakeScript { TextChunks = ["o", "1"], ChunkGap = TimeSpan.FromMilliseconds(5) });
        fake.On("other-2", new FakeScript { TextChunks = ["o", "2"] });
        using var stream = gateway.OpenStream(provider);

        await stream.SendAsync(gateway.NewChat(provider, "victim", "X"));
        await stream.ReadUntilAsync(r => r.ClientRequestId == "X");          // X's first delta: it is streaming
        await stream.SendAsync(gateway.NewChat(provider, "other-1", "Y"));
        await stream.SendAsync(gateway.NewChat(provider, "other-2", "Z"));
        await stream.CancelAsync("X");
        await stream.CancelAsync("no-such-id");                               // ignored
        var terminals = await stream.ReadTerminalsAsync(3);

        var x = terminals.Single(t => t.ClientRequestId == "X");
        Assert.False(x.Success);
        Assert.Equal(499, x.Code);
        Assert.Equal("cancelled", x.FinishReason);
        Assert.Equal(499UL, x.Error.ErrorCode);
        Assert.Equal("o1", terminals.Single(t => t.ClientRequestId == "Y").Text());
        Assert.Equal("o2", terminals.Single(t => t.ClientRequestId == "Z").Text());
        var victim = fake.Requests.Single(r => r.Body.Contains("victim"));
        await victim.Aborted.DefaultTimeout();
        Assert.All(fake.Requests.Where(r => !r.Body.Contains("victim")), r => Assert.False(r.WasAborted));

        await stream.CompleteAsync();
        Assert.Equal(StatusCode.OK, (await stream.ReadToEndAsync()).StatusCode);
        Assert.Equal(3, stream.Received.Count(ChatStream.IsTerminal));
    }

    [Theory, MemberData(nameof(AllProviders))]
    public async Task DuplicateInFlightId_Gets409_OriginalContinues_IdReusableAfterwards(string provider)
    {
        await using var gateway = await TestGateway.StartAsync();
        var fake = gateway.Fake(provider);
        fake.On("long", new FakeScript { TextChunks = ["l1", "l2"], Fault = FakeFault.Stall, FaultAfterChunks = 1 });
        using var stream = gateway.OpenStream(provider);

        await stream.SendAsync(gateway.NewChat(provider, "long", "dup"));
        await stream.ReadUntilAsync(r => r.ClientRequestId == "dup");
        await stream.SendAsync(gateway.NewChat(provider, "again", "dup"));
        var conflict = await stream.ReadUntilAsync(ChatStream.IsTerminal);
        Assert.Equal(409, conflict.Code);
        Assert.Equal("dup", conflict.ClientRequestId);
        Assert.Equal("error", conflict.FinishReason);

        await stream.CancelAsync("dup");
        Assert.Equal(499, (await stream.ReadUntilAsync(ChatStream.IsTerminal)).Code);
        await stream.SendAsync(gateway.NewChat(provider, "reuse", "dup"));
        var reused = await stream.ReadUntilAsync(ChatStream.IsTerminal);
        Assert.True(reused.Success, reused.Describe());
        Assert.Equal(2, fake.Requests.Count); // the 409 never reached the provider
    }

    [Fact]
    public async Task TaggedRequests_BeyondConcurrencyAndQueue_Get429_QueuedOnesRunLater()
    {
        await using var gateway = await TestGateway.StartAsync(new Dictionary<string, string?>
        {
            ["Engine:MaxConcurrentRequestsPerStream"] = "1",
            ["Engine:MaxQueuedRequestsPerStream"] = "1",
        });
        gateway.OpenAI.On("hold", new FakeScript { TextChunks = ["h1", "h2"], Fault = FakeFault.Stall, FaultAfterChunks = 1 });
        using var stream = gateway.OpenStream("openai");

        await stream.SendAsync(NewChat("openai", "hold", "A"));
        await stream.ReadUntilAsync(r => r.ClientRequestId == "A");
        await stream.SendAsync(NewChat("openai", "queued", "B"));   // waits for A's slot
        await stream.SendAsync(NewChat("openai", "refused", "C"));  // queue is full
        var refused = await stream.ReadUntilAsync(ChatStream.IsTerminal);
        Assert.Equal("C", refused.ClientRequestId);
        Assert.Equal(429, refused.Code);
        Assert.Single(gateway.OpenAI.Requests); // B has not started

        await stream.CancelAsync("A");
        var rest = await stream.ReadTerminalsAsync(2);
        Assert.Equal(499, rest.Single(t => t.ClientRequestId == "A").Code);
        Assert.True(rest.Single(t => t.ClientRequestId == "B").Success);
    }

    [Theory, MemberData(nameof(AllProviders))]
    public async Task HalfClose_WithRequestsInFlight_FinishesThemThenEndsOk(string provider)
    {
        await using var gateway = await TestGateway.StartAsync();
        gateway.Fake(provider).DefaultScript = new FakeScript { TextChunks = ["a", "b", "c"], ChunkGap = TimeSpan.FromMilliseconds(10) };
        using var stream = gateway.OpenStream(provider);

        await stream.SendAsync(gateway.NewChat(provider, "p1", "1"));
        await stream.SendAsync(gateway.NewChat(provider, "p2", "2"));
        await stream.SendAsync(gateway.NewChat(provider, "p3"));
        await stream.CompleteAsync();
        var status = await stream.ReadToEndAsync();

        Assert.Equal(StatusCode.OK, status.StatusCode);
        var terminals = stream.Received.Where(ChatStream.IsTerminal).ToList();
        Assert.Equal(3, terminals.Count);
        Assert.All(terminals, t => Assert.Equal("abc", t.Text()));
        Assert.All(gateway.Fake(provider).Requests, r => Assert.False(r.WasAborted));
    }

    [Theory, MemberData(nameof(AllProviders))]
    public async Task ClientCancelsCall_MidStream_EveryUpstreamCallIsAborted(string provider)
    {
        await using var gateway = await TestGateway.StartAsync();
        var fake = gateway.Fake(provider);
        fake.DefaultScript = new FakeScript { TextChunks = ["x", "y"], Fault = FakeFault.Stall, FaultAfterChunks = 1 };
        using var cts = new CancellationTokenSource();
        using var stream = gateway.OpenStream(provider, cancellationToken: cts.Token);

        await stream.SendAsync(gateway.NewChat(provider, "one", "1"));
        await stream.SendAsync(gateway.NewChat(provider, "two", "2"));
        await stream.WaitForAsync(r => r.ClientRequestId == "1");
        await stream.WaitForAsync(r => r.ClientRequestId == "2");
        cts.Cancel();

        Assert.Equal(2, fake.Requests.Count);
        await Task.WhenAll(fake.Requests.Select(r => r.Aborted)).DefaultTimeout();
    }
}
