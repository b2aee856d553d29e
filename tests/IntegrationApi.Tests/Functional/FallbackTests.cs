using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using IntegrationApi.Testing;
using IntegrationApi.Tests.Infrastructure;
using Microsoft.Extensions.Time.Testing;
using static IntegrationApi.Tests.Infrastructure.TestRequests;
using Proto = IntegrationApi.Contracts;

namespace IntegrationApi.Tests.Functional;

/// <summary>docs/contract.md §9: fallbacks before the first token, hedging after <c>hedgeAfterMs</c>, one terminal.</summary>
public sealed class FallbackTests
{
    private const string Primary = "\"model\":\"gpt-4o-mini\"", Backup = "\"model\":\"gpt-backup\"";

    private static Proto.ChatTarget Fallback(string model, string provider = "") => new()
    {
        ProviderName = provider,
        ModelParameters = { ["model.name"] = Param(Value.ForString(model)) },
    };

    private static Proto.ChatRequest WithFallback(Proto.ChatRequest request, uint hedgeAfterMs = 0, string model = "gpt-backup", string provider = "")
    {
        request.Fallbacks.Add(Fallback(model, provider));
        request.HedgeAfterMs = hedgeAfterMs;
        return request;
    }

    private static int Sent(FakeProviderServer fake, string model) => fake.Requests.Count(r => r.Body.Contains(model, StringComparison.Ordinal));

    [Fact]
    public async Task PrimaryUnavailable_AfterItsRetries_FallbackServes()
    {
        await using var gateway = await TestGateway.StartAsync();
        gateway.OpenAI.On(Primary, FakeScript.Error(503));
        gateway.OpenAI.On(Backup, new FakeScript { TextChunks = ["from ", "backup"] });
        using var stream = gateway.OpenStream("openai");
        await stream.SendAsync(WithFallback(gateway.NewChat("openai", "hi", "r1")));

        var terminal = await stream.ReadUntilAsync(ChatStream.IsTerminal);
        Assert.True(terminal.Success, terminal.Describe());
        Assert.Equal("from backup", terminal.Text());
        Assert.Equal("from backup", stream.DeltaText("r1"));
        Assert.Equal("openai", terminal.Metric(Proto.MetricNames.ProviderName));
        Assert.Equal("gpt-backup", terminal.Metric(Proto.MetricNames.ModelName));
        Assert.Equal("2", terminal.Metric(Proto.MetricNames.Attempts));
        Assert.Equal(3, Sent(gateway.OpenAI, Primary)); // its own retries first
        Assert.Equal(1, Sent(gateway.OpenAI, Backup));
    }

    [Fact]
    public async Task PrimaryRateLimitedWithALongRetryAfter_FallbackServesAtOnce()
    {
        await using var gateway = await TestGateway.StartAsync();
        gateway.OpenAI.On(Primary, FakeScript.Error(429, "rate_limit_exceeded", retryAfter: "120"));
        var response = await gateway.ChatAsync("openai", WithFallback(gateway.NewChat("openai", "hi")));
        Assert.True(response.Success, response.Describe());
        Assert.Equal("gpt-backup", response.Metric(Proto.MetricNames.ModelName));
        Assert.Equal(1, Sent(gateway.OpenAI, Primary)); // a Retry-After longer than the service waits ends the target's retries
    }

    [Fact]
    public async Task PrimaryFailsAfterItsFirstDelta_NoFallback_TheErrorIsTheTerminal()
    {
        await using var gateway = await TestGateway.StartAsync();
        // The cut waits until the client has the delta (an abortive close may discard data still in flight).
        var deltaSeen = new TaskCompletionSource();
        gateway.OpenAI.On(Primary, new FakeScript { TextChunks = ["partial", "rest"], Fault = FakeFault.Cut, FaultAfterChunks = 1, FaultGate = deltaSeen.Task });
        using var stream = gateway.OpenStream("openai");
        await stream.SendAsync(WithFallback(gateway.NewChat("openai", "hi", "r1")));
        await stream.ReadUntilAsync(r => !ChatStream.IsTerminal(r));
        deltaSeen.SetResult();
        var terminal = await stream.ReadUntilAsync(ChatStream.IsTerminal);
        Assert.True(terminal.Code == 502, terminal.Describe());
        Assert.Equal("partial", stream.DeltaText("r1"));
        Assert.Equal(0, Sent(gateway.OpenAI, Backup));
        Assert.Equal(1, Sent(gateway.OpenAI, Primary));
        Assert.Equal("1", terminal.Metric(Proto.MetricNames.Attempts));
    }

    [Fact]
    public async Task EveryTargetFails_TheLastTargetsErrorIsTheTerminal()
    {
        await using var gateway = await TestGateway.StartAsync();
        gateway.OpenAI.On(Primary, FakeScript.Error(503));
        gateway.OpenAI.On(Backup, FakeScript.Error(429, "rate_limit_exceeded", retryAfter: "120"));
        var response = await gateway.ChatAsync("openai", WithFallback(gateway.NewChat("openai", "hi")));
        Assert.Equal(429, response.Code);
        Assert.Equal("gpt-backup", response.Metric(Proto.MetricNames.ModelName));
        Assert.Equal("2", response.Metric(Proto.MetricNames.Attempts));
    }

    [Fact]
    public async Task NotRetryableFailure_NoFallback()
    {
        await using var gateway = await TestGateway.StartAsync();
        var response = await gateway.ChatAsync("openai", WithFallback(gateway.NewChat("openai", "hi", key: "wrong-key")));
        Assert.Equal(401, response.Code); // a refused credential is not the provider being down
        Assert.Equal(0, Sent(gateway.OpenAI, Backup));
    }

    [Fact]
    public async Task OnLlmService_AFallbackMayBeAnotherProvider()
    {
        await using var gateway = await TestGateway.StartAsync();
        gateway.OpenAI.On(Primary, FakeScript.Error(503));
        var request = gateway.NewChat("openai", "hi");
        request.ProviderName = "openai";
        request.Fallbacks.Add(Fallback("claude-sonnet-4-5", "anthropic"));
        var response = await gateway.ChatAsync(null!, request);
        Assert.True(response.Success, response.Describe());
        Assert.Equal("anthropic", response.Metric(Proto.MetricNames.ProviderName));
        Assert.Single(gateway.Anthropic.Requests);
    }

    public static IEnumerable<object[]> InvalidTargets()
    {
        yield return ["another provider on a provider's service", "openai", (Action<Proto.ChatRequest>)(r => r.Fallbacks.Add(Fallback("claude", "anthropic"))), "fallbacks[0].providerName"];
        yield return ["an unknown provider", "llm", (Action<Proto.ChatRequest>)(r => r.Fallbacks.Add(Fallback("x", "nope"))), "fallbacks[0].providerName"];
        yield return ["a bad parameter", "openai", (Action<Proto.ChatRequest>)(r =>
        {
            var target = Fallback("gpt-backup");
            target.ModelParameters["model.temperature"] = Param(Value.ForString("warm"));
            r.Fallbacks.Add(target);
        }), "fallbacks[0]"];
        yield return ["an empty credential", "openai", (Action<Proto.ChatRequest>)(r =>
        {
            var target = Fallback("gpt-backup");
            target.Credential = new Proto.Credential();
            r.Fallbacks.Add(target);
        }), "fallbacks[0]"];
        yield return ["a hedge with nothing to hedge with", "openai", (Action<Proto.ChatRequest>)(r => r.HedgeAfterMs = 100), "hedgeAfterMs"];
        yield return ["too many targets", "openai", (Action<Proto.ChatRequest>)(r => { for (var i = 0; i < 9; i++) r.Fallbacks.Add(Fallback("m" + i)); }), "fallbacks"];
    }

    [Theory, MemberData(nameof(InvalidTargets))]
    public async Task InvalidTarget_400_BeforeAnyUpstreamCall(string why, string service, Action<Proto.ChatRequest> spoil, string names)
    {
        await using var gateway = await TestGateway.StartAsync();
        var request = gateway.NewChat("openai", "hi");
        if (service == "llm") request.ProviderName = "openai";
        spoil(request);
        var response = await gateway.ChatAsync(service == "llm" ? null! : service, request);
        Assert.True(response.Code == 400, $"{why}: {response.Describe()}");
        Assert.Contains(names, response.Error.ErrorMessage);
        Assert.Empty(gateway.OpenAI.Requests);
    }

    /// <summary>A gateway on a fake clock whose primary model stalls; the tasks complete once the primary's (and the backup's) answer began.</summary>
    private static async Task<(TestGateway Gateway, FakeTimeProvider Clock, Task PrimaryStreaming, Task BackupStreaming)> StalledPrimaryAsync(FakeScript? backup = null)
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var gateway = await TestGateway.StartAsync(time: clock);
        var primary = new TaskCompletionSource<Task>(TaskCreationOptions.RunContinuationsAsynchronously);
        var second = new TaskCompletionSource<Task>(TaskCreationOptions.RunContinuationsAsynchronously);
        var stall = new FakeScript { TextChunks = ["slow"], Fault = FakeFault.Stall, FaultAfterChunks = 0 };
        backup ??= new FakeScript { TextChunks = ["hedge ", "won"] };
        gateway.OpenAI.Responder = r =>
            r.Body.Contains(Primary, StringComparison.Ordinal) ? (primary.TrySetResult(r.Streaming) ? stall : stall)
            : r.Body.Contains(Backup, StringComparison.Ordinal) ? (second.TrySetResult(r.Streaming) ? backup : backup)
            : null;
        return (gateway, clock, primary.Task.Unwrap(), second.Task.Unwrap());
    }

    [Fact]
    public async Task PrimaryStalls_TheHedgeWins_ThePrimarysUpstreamCallIsAborted()
    {
        var (gateway, clock, primaryStreaming, _) = await StalledPrimaryAsync();
        await using var _ = gateway;
        using var stream = gateway.OpenStream("openai");
        await stream.SendAsync(WithFallback(gateway.NewChat("openai", "hi", "r1"), hedgeAfterMs: 300));
        await primaryStreaming.DefaultTimeout();
        clock.Advance(TimeSpan.FromMilliseconds(300));

        var terminal = await stream.ReadUntilAsync(ChatStream.IsTerminal);
        Assert.True(terminal.Success, terminal.Describe());
        Assert.Equal("hedge won", terminal.Text());
        Assert.Equal("hedge won", stream.DeltaText("r1")); // deltas from the winner only
        Assert.Equal("gpt-backup", terminal.Metric(Proto.MetricNames.ModelName));
        Assert.Equal("2", terminal.Metric(Proto.MetricNames.Attempts));
        var primary = gateway.OpenAI.Requests.Single(r => r.Body.Contains(Primary, StringComparison.Ordinal));
        await primary.Aborted.DefaultTimeout();
    }

    [Fact]
    public async Task NoHedge_PrimaryGivesNoFirstTokenInTime_FallbackRuns()
    {
        var (gateway, clock, primaryStreaming, _) = await StalledPrimaryAsync();
        await using var __ = gateway;
        var call = gateway.ChatAsync("openai", WithFallback(gateway.NewChat("openai", "hi")));
        await primaryStreaming.DefaultTimeout();
        clock.Advance(TimeSpan.FromMinutes(1)); // Engine:TimeToFirstTokenTimeout
        var response = await call.DefaultTimeout();
        Assert.True(response.Success, response.Describe());
        Assert.Equal("gpt-backup", response.Metric(Proto.MetricNames.ModelName));
        await gateway.OpenAI.Requests.Single(r => r.Body.Contains(Primary, StringComparison.Ordinal)).Aborted.DefaultTimeout();
    }

    [Fact]
    public async Task CancelDuringAHedge_AbortsEveryAttempt()
    {
        var (gateway, clock, primaryStreaming, backupStreaming) = await StalledPrimaryAsync(backup: new FakeScript { TextChunks = ["never"], Fault = FakeFault.Stall, FaultAfterChunks = 0 });
        await using var _ = gateway;
        using var stream = gateway.OpenStream("openai");
        await stream.SendAsync(WithFallback(gateway.NewChat("openai", "hi", "r1"), hedgeAfterMs: 300));
        await primaryStreaming.DefaultTimeout();
        clock.Advance(TimeSpan.FromMilliseconds(300));
        await backupStreaming.DefaultTimeout(); // the hedge is running too

        await stream.CancelAsync("r1");
        var terminal = await stream.ReadUntilAsync(ChatStream.IsTerminal);
        Assert.Equal(499, terminal.Code);
        await Task.WhenAll(gateway.OpenAI.Requests.Select(r => r.Aborted)).DefaultTimeout();
        Assert.Equal(2, gateway.OpenAI.Requests.Count);
    }
}
