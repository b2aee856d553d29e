using Grpc.Core;
using IntegrationApi.Testing;
using IntegrationApi.Tests.Infrastructure;
using static IntegrationApi.Tests.Infrastructure.TestRequests;

namespace IntegrationApi.Tests.Functional;

/// <summary>Contract §3 items 2–4 over the real service and loopback fakes, for each provider.</summary>
public sealed class StreamChatBasicsTests
{
    public static IEnumerable<object[]> AllProviders => ProviderCases;

    [Theory, MemberData(nameof(AllProviders))]
    public async Task StreamChat_OneRequest_DeltasThenOneCompleteTerminal(string provider)
    {
        await using var gateway = await TestGateway.StartAsync();
        gateway.Fake(provider).DefaultScript = new FakeScript { TextChunks = ["Hel", "lo", " there"], InputTokens = 11, OutputTokens = 3, CachedInputTokens = 4 };
        using var stream = gateway.OpenStream(provider);

        await stream.SendAsync(gateway.NewChat(provider, "hi"));
        var terminal = (await stream.ReadTerminalsAsync(1))[0];
        await stream.CompleteAsync();
        var status = await stream.ReadToEndAsync();

        Assert.Equal(StatusCode.OK, status.StatusCode);
        var deltas = stream.Received.Where(r => !ChatStream.IsTerminal(r)).ToList();
        Assert.Equal(3, deltas.Count);
        Assert.All(deltas, d =>
        {
            Assert.True(d.Success);
            Assert.Equal(200, d.Code);
            Assert.Equal(terminal.RequestId, d.RequestId);
            Assert.Empty(d.Metrics);
            Assert.Equal("", d.FinishReason);
            Assert.Equal("assistant", d.Data.Role);
            Assert.Equal("text", d.Data.Contents[0].ContentType);
            Assert.Equal("raw", d.Data.Contents[0].ContentFormat);
        });
        Assert.Equal("Hello there", stream.DeltaText());
        Assert.True(terminal.Success, terminal.Describe());
        Assert.Equal(200, terminal.Code);
        Assert.Equal("stop", terminal.FinishReason);
        Assert.Equal("Hello there", terminal.Text());
        Assert.NotEqual(0UL, terminal.RequestId);
        Assert.Equal(terminal.RequestId.ToString(), terminal.Metric("LLM_REQUEST_ID"));
        Assert.Equal("SUCCESS", terminal.Metric("STATUS"));
        Assert.Equal("11", terminal.Metric("INPUT_TOKEN"));
        Assert.Equal("3", terminal.Metric("OUTPUT_TOKEN"));
        Assert.Equal("14", terminal.Metric("TOTAL_TOKEN"));
        Assert.Equal(ReportsCachedTokens(provider) ? "4" : null, terminal.Metric("CACHED_INPUT_TOKEN"));
        Assert.True(long.Parse(terminal.Metric("TIME_TAKEN")!) > 0);
        Assert.True(long.Parse(terminal.Metric("TIME_TO_FIRST_TOKEN")!) > 0);

        var sent = Assert.Single(gateway.Fake(provider).Requests);
        if (provider != "vertexai") Assert.Equal("test-key", SentKey(provider, sent)); // Vertex sends an OAuth token instead
        if (provider is "gemini" or "vertexai") Assert.Contains(":streamGenerateContent", sent.Path); // the URL asks for a stream
        else Assert.True(sent.Json!.Value.GetProperty("stream").GetBoolean());
    }

    [Theory, MemberData(nameof(AllProviders))]
    public async Task StreamChat_SeveralUntaggedRequests_AnsweredInOrderWithoutInterleaving(string provider)
    {
        await using var gateway = await TestGateway.StartAsync();
        var fake = gateway.Fake(provider);
        fake.On("first", new FakeScript { TextChunks = ["one", "-", "one"], ChunkGap = TimeSpan.FromMilliseconds(20) });
        fake.On("second", new FakeScript { TextChunks = ["two"] });
        fake.On("third", new FakeScript { TextChunks = ["three", "!"] });
        using var stream = gateway.OpenStream(provider);

        await stream.SendAsync(gateway.NewChat(provider, "first"));
        await stream.SendAsync(gateway.NewChat(provider, "second"));
        await stream.SendAsync(gateway.NewChat(provider, "third"));
        await stream.CompleteAsync();
        Assert.Equal(StatusCode.OK, (await stream.ReadToEndAsync()).StatusCode);

        // Group consecutive responses by request id: three runs, each deltas then its terminal.
        var runs = new List<List<Contracts.ChatResponse>>();
        foreach (var r in stream.Received)
        {
            if (runs.Count == 0 || runs[^1][0].RequestId != r.RequestId) runs.Add([]);
            runs[^1].Add(r);
        }
        Assert.Equal(3, runs.Count);
        Assert.Equal(["one-one", "two", "three!"], runs.Select(run => run[^1].Text()));
        Assert.All(runs, run => Assert.True(ChatStream.IsTerminal(run[^1]) && run.Take(run.Count - 1).All(x => !ChatStream.IsTerminal(x))));
        Assert.True(runs[0][0].RequestId < runs[1][0].RequestId && runs[1][0].RequestId < runs[2][0].RequestId, "request ids are time-ordered");
    }

    [Theory, MemberData(nameof(AllProviders))]
    public async Task StreamChat_TaggedRequestsSentTogether_RunConcurrentlyAndInterleave(string provider)
    {
        await using var gateway = await TestGateway.StartAsync();
        var fake = gateway.Fake(provider);
        // "slow" stalls until the client aborts it, so "fast" can only finish if both run at once.
        fake.On("slow", new FakeScript { TextChunks = ["s1", "s2"], Fault = FakeFault.Stall, FaultAfterChunks = 1 });
        fake.On("fast", new FakeScript { TextChunks = ["f1", "f2", "f3"] });
        using var stream = gateway.OpenStream(provider);

        await stream.SendAsync(gateway.NewChat(provider, "slow", "A"));
        await stream.SendAsync(gateway.NewChat(provider, "fast", "B"));
        var fast = await stream.ReadUntilAsync(ChatStream.IsTerminal);
        Assert.Equal("B", fast.ClientRequestId);
        Assert.Equal("f1f2f3", fast.Text());
        Assert.Equal("f1f2f3", stream.DeltaText("B"));
        Assert.All(stream.Received, r => Assert.Contains(r.ClientRequestId, new[] { "A", "B" }));

        await stream.WaitForAsync(r => r.ClientRequestId == "A"); // A is streaming (stalled after its first delta)
        await stream.CancelAsync("A");
        var slow = await stream.ReadUntilAsync(ChatStream.IsTerminal);
        Assert.Equal("A", slow.ClientRequestId);
        Assert.Equal("s1", stream.DeltaText("A"));
        Assert.NotEqual(slow.RequestId, fast.RequestId);
    }

    [Fact]
    public async Task UntaggedRefusals_WaitTheirTurn_OrderIsKept()
    {
        await using var gateway = await TestGateway.StartAsync();
        gateway.OpenAI.On("slow", new FakeScript { TextChunks = ["s", "l", "o", "w"], ChunkGap = TimeSpan.FromMilliseconds(30) });
        using var stream = gateway.OpenStream("openai");

        await stream.SendAsync(gateway.NewChat("openai", "slow"));
        var bad = gateway.NewChat("openai", "bad"); bad.Action = (Contracts.ChatAction)5;      // refused on arrival
        await stream.SendAsync(bad);
        var invalid = gateway.NewChat("openai", "invalid"); invalid.Conversations.Clear();    // refused when validated
        await stream.SendAsync(invalid);
        await stream.SendAsync(gateway.NewChat("openai", "last"));
        var terminals = await stream.ReadTerminalsAsync(4);

        Assert.Equal([200, 400, 400, 200], terminals.Select(t => t.Code));
        Assert.Equal("slow", terminals[0].Text());
        Assert.True(terminals.Zip(terminals.Skip(1)).All(p => p.First.RequestId < p.Second.RequestId));
    }
}
