using System.Diagnostics;
using IntegrationApi.Testing;
using IntegrationApi.Tests.Infrastructure;
using static IntegrationApi.Tests.Infrastructure.TestRequests;
using Proto = IntegrationApi.Contracts;

namespace IntegrationApi.Tests.Functional;

/// <summary>Engine guarantees that cut across the others: pooling, Retry-After, exactly one terminal under a mix of failures.</summary>
public sealed class EngineGuaranteesTests
{
    public static IEnumerable<object[]> AllProviders => ProviderCases;

    [Theory, MemberData(nameof(AllProviders))]
    public async Task RequestsWithDifferentCredentials_ShareOnePooledConnection(string provider)
    {
        await using var gateway = await TestGateway.StartAsync();
        using var stream = gateway.OpenStream(provider);
        await stream.SendAsync(gateway.NewChat(provider, "first"));
        await stream.SendAsync(gateway.NewChat(provider, "second", key: "another-callers-key"));
        await stream.SendAsync(gateway.NewChat(provider, "third"));
        var terminals = await stream.ReadTerminalsAsync(3);

        Assert.Equal([200, 401, 200], terminals.Select(t => t.Code));
        var requests = gateway.Fake(provider).Requests;
        Assert.Equal(provider == "vertexai" ? 2 : 3, requests.Count); // Vertex: the bad key fails at the token exchange
        // Pooled connections shared by three credentials: at least one reuse. Not exactly one: a stream the
        // adapter stops reading at its end event (before the body's last bytes, e.g. Cohere's "[DONE]") is
        // drained by the pool in the background, and the next request may open a connection meanwhile.
        var connections = requests.Select(r => r.ConnectionId).Distinct().Count();
        Assert.InRange(connections, 1, requests.Count - 1);
    }

    [Fact]
    public async Task RetryAfter_IsWaitedFor()
    {
        await using var gateway = await TestGateway.StartAsync();
        gateway.OpenAI.Enqueue(FakeScript.Error(429, retryAfter: "1"));
        using var stream = gateway.OpenStream("openai");
        var clock = Stopwatch.StartNew();
        await stream.SendAsync(NewChat("openai", "hi"));
        var terminal = await stream.ReadUntilAsync(ChatStream.IsTerminal);

        Assert.True(terminal.Success, terminal.Describe());
        Assert.True(clock.Elapsed >= TimeSpan.FromSeconds(0.95), $"retried after {clock.Elapsed.TotalMilliseconds} ms, before Retry-After: 1");
        Assert.Equal(2, gateway.OpenAI.Requests.Count);
    }

    [Theory, MemberData(nameof(AllProviders))]
    public async Task MixOfOutcomesOnOneStream_EveryRequestGetsExactlyOneTerminal_AfterItsDeltas(string provider)
    {
        await using var gateway = await TestGateway.StartAsync(new Dictionary<string, string?> { ["Engine:MaxConcurrentRequestsPerStream"] = "8" });
        var fake = gateway.Fake(provider);
        var scripts = new (string Kind, FakeScript Script, int Code)[]
        {
            ("ok", new FakeScript { TextChunks = ["a", "b", "c"] }, 200),
            ("tools", new FakeScript { TextChunks = [], ToolCalls = [new FakeToolCall("call_9", "f", "{}")] }, 200),
            ("err500", FakeScript.Error(500), 502),
            ("err400", FakeScript.Error(400), 400),
            ("cut", new FakeScript { TextChunks = ["x", "y"], Fault = FakeFault.MissingTerminal, FaultAfterChunks = 1 }, 502),
            ("inband", new FakeScript { TextChunks = ["x", "y"], Fault = FakeFault.InBandError, FaultAfterChunks = 1 }, 0),
            ("malformed", new FakeScript { TextChunks = ["x", "y"], Fault = FakeFault.MalformedChunk, FaultAfterChunks = 1 }, 502),
            ("stall", new FakeScript { TextChunks = ["x", "y"], Fault = FakeFault.Stall, FaultAfterChunks = 1 }, 499),
        };
        foreach (var (kind, script, _) in scripts) fake.On($"kind-{kind}-", script);
        using var stream = gateway.OpenStream(provider);

        var expected = new Dictionary<string, int>();
        for (var i = 0; i < 32; i++)
        {
            var (kind, _, code) = scripts[i % scripts.Length];
            var id = $"r{i}";
            expected[id] = code;
            await stream.SendAsync(gateway.NewChat(provider, $"kind-{kind}-{i}", id));
        }
        var bad = gateway.NewChat(provider, "no model", "bad"); bad.ModelParameters.Clear();
        expected["bad"] = 400;
        await stream.SendAsync(bad);
        await stream.SendAsync(gateway.NewChat(provider, "untagged")); // untagged requests mix in too
        await stream.SendAsync(gateway.NewChat(provider, "untagged"));

        var terminals = new List<Proto.ChatResponse>();
        var cancelled = new HashSet<string>();
        while (terminals.Count < expected.Count + 2)
        {
            var r = await stream.ReadAsync() ?? throw new InvalidOperationException("stream ended early");
            if (ChatStream.IsTerminal(r)) { terminals.Add(r); continue; }
            // A stalling request is cancelled once it has shown it is streaming.
            if (expected.TryGetValue(r.ClientRequestId, out var code) && code == 499 && cancelled.Add(r.ClientRequestId))
                await stream.CancelAsync(r.ClientRequestId);
        }
        await stream.CompleteAsync();
        await stream.ReadToEndAsync();

        Assert.Equal(expected.Count + 2, stream.Received.Count(ChatStream.IsTerminal)); // nothing after the ones counted
        Assert.Equal(terminals.Count, terminals.Select(t => t.RequestId).Distinct().Count());
        foreach (var (id, code) in expected)
        {
            var terminal = Assert.Single(terminals, t => t.ClientRequestId == id);
            if (code != 0) Assert.True(code == terminal.Code, $"{id}: expected {code}, got {terminal.Describe()}");
            else Assert.False(terminal.Success);
            var index = stream.Received.ToList().IndexOf(terminal);
            Assert.DoesNotContain(stream.Received.Skip(index + 1), r => r.ClientRequestId == id); // nothing after the terminal
        }
        Assert.Equal(2, terminals.Count(t => t.ClientRequestId == "" && t.Success));
    }
}
