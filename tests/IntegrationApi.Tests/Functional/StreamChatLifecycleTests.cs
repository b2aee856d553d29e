using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Grpc.Core;
using IntegrationApi.Testing;
using IntegrationApi.Tests.Infrastructure;
using static IntegrationApi.Tests.Infrastructure.TestRequests;

namespace IntegrationApi.Tests.Functional;

/// <summary>Contract §3 items 8 and 9: server-initiated drain (shutdown, maximum age) and back-pressure.</summary>
public sealed class StreamChatLifecycleTests
{
    public static IEnumerable<object[]> AllProviders => ProviderCases;

    [Theory, MemberData(nameof(AllProviders))]
    public async Task ServerShutdown_InFlightFinish_NewRequestsGet503_CallEndsOk(string provider)
    {
        await using var gateway = await TestGateway.StartAsync();
        // The in-flight request stalls after its first delta, so it is surely running when the drain begins.
        gateway.Fake(provider).On("gated", new FakeScript { TextChunks = ["g", "h"], Fault = FakeFault.Stall, FaultAfterChunks = 1 });
        using var stream = gateway.OpenStream(provider);

        await stream.SendAsync(gateway.NewChat(provider, "gated-slow", "busy"));
        await stream.WaitForAsync(r => r.ClientRequestId == "busy");
        var stopping = gateway.App.StopAsync();          // fires ApplicationStopping: the stream drains
        await stream.SendAsync(gateway.NewChat(provider, "late", "late"));
        var late = await stream.WaitForAsync(r => r.ClientRequestId == "late" && ChatStream.IsTerminal(r));
        Assert.Equal(503, late.Code);
        Assert.Equal("error", late.FinishReason);
        Assert.False(stopping.IsCompleted);

        await stream.CancelAsync("busy");                 // the client may still cancel while draining
        var busy = await stream.WaitForAsync(r => r.ClientRequestId == "busy" && ChatStream.IsTerminal(r));
        Assert.Equal(499, busy.Code);
        Assert.Equal(StatusCode.OK, (await stream.ReadToEndAsync()).StatusCode);
        Assert.Equal("shutdown", stream.Call.GetTrailers().GetValue("integration-api-stream-end")); // "reopen elsewhere"
        await stopping.DefaultTimeout();
        Assert.Single(gateway.Fake(provider).Requests);   // "late" never reached the provider
    }

    [Fact]
    public async Task ServerShutdown_InFlightRequestCompletesNormally()
    {
        await using var gateway = await TestGateway.StartAsync();
        gateway.OpenAI.DefaultScript = new FakeScript { TextChunks = ["x", "y", "z"], ChunkGap = TimeSpan.FromMilliseconds(30) };
        using var stream = gateway.OpenStream("openai");

        await stream.SendAsync(NewChat("openai", "normal", "n"));
        await stream.WaitForAsync(r => r.ClientRequestId == "n");
        var stopping = gateway.App.StopAsync();
        var terminal = await stream.WaitForAsync(r => r.ClientRequestId == "n" && ChatStream.IsTerminal(r));
        Assert.True(terminal.Success, terminal.Describe());
        Assert.Equal("xyz", terminal.Text());
        Assert.Equal(StatusCode.OK, (await stream.ReadToEndAsync()).StatusCode);
        await stopping.DefaultTimeout();
    }

    [Fact]
    public async Task Drain_RequestsStillRunningAtTheDeadline_Cancelled503()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        // Only the drain deadline may fire while the clock is stepped: the request's own limits are a day away.
        await using var gateway = await TestGateway.StartAsync(new Dictionary<string, string?>
        {
            ["Engine:DrainTimeout"] = "00:00:20", ["Engine:IdleTimeout"] = "1.00:00:00", ["Engine:TotalTimeout"] = "1.00:00:00", ["Engine:DrainLinger"] = "00:00:00",
        }, time: clock);
        gateway.OpenAI.DefaultScript = new FakeScript { TextChunks = ["a", "b"], Fault = FakeFault.Stall, FaultAfterChunks = 1 };
        using var stream = gateway.OpenStream("openai");

        await stream.SendAsync(NewChat("openai", "stuck", "s"));
        await stream.WaitForAsync(r => r.ClientRequestId == "s");
        var stopping = gateway.App.StopAsync();
        // The drain has begun (and its deadline is set, 20 s of the service's clock away) once a new request is refused as draining.
        await stream.SendAsync(NewChat("openai", "late", "probe"));
        Assert.Equal(503, (await stream.WaitForAsync(r => r.ClientRequestId == "probe" && ChatStream.IsTerminal(r))).Code);
        var reading = stream.WaitForAsync(r => r.ClientRequestId == "s" && ChatStream.IsTerminal(r));
        // Step the clock past the deadline, a second at a time, and no further than 23 s: the host's own shutdown timeout
        // (drain + 5 s) must not be stepped past while the terminal is on its way (that closed the connection under load).
        for (var stepped = 0; stepped < 23 && !reading.IsCompleted; stepped++)
        {
            clock.Advance(TimeSpan.FromSeconds(1));
            await Task.WhenAny(reading, Task.Delay(5));
        }
        var terminal = await reading.DefaultTimeout();
        Assert.Equal(503, terminal.Code);
        Assert.Equal(StatusCode.OK, (await stream.ReadToEndAsync()).StatusCode);
        await gateway.OpenAI.Requests[0].Aborted.DefaultTimeout();
        await stopping.DefaultTimeout();
    }

    [Fact]
    public void MaximumStreamAge_JitteredWithinItsFraction_NotTheSameForEveryStream()
    {
        var ages = Enumerable.Range(0, 200).Select(_ => Api.StreamChatSession.Jittered(TimeSpan.FromMinutes(30), 0.1)).ToArray();
        Assert.All(ages, a => Assert.InRange(a, TimeSpan.FromMinutes(27), TimeSpan.FromMinutes(33)));
        Assert.True(ages.Max() - ages.Min() > TimeSpan.FromMinutes(3), "the ages barely differ");
        Assert.Equal(TimeSpan.FromMinutes(30), Api.StreamChatSession.Jittered(TimeSpan.FromMinutes(30), 0));
    }

    [Fact]
    public void MaximumStreamAge_OnByDefault()
    {
        var defaults = new Engine.EngineOptions();
        Assert.Equal(TimeSpan.FromMinutes(30), defaults.MaxStreamAge);
        Assert.Equal(0.1, defaults.MaxStreamAgeJitter);
    }

    [Fact]
    public async Task MaximumStreamAge_EmptySetting_TurnsItOff()
    {
        await using var gateway = await TestGateway.StartAsync(new Dictionary<string, string?> { ["Engine:MaxStreamAge"] = "" });
        Assert.Null(gateway.App.Services.GetRequiredService<Microsoft.Extensions.Options.IOptions<Engine.EngineOptions>>().Value.MaxStreamAge);
    }

    [Fact]
    public async Task DrainedStream_KeepsReadingForTheClientsHalfClose_RefusingAsDraining_ThenEndsWithReopenTrailer()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var gateway = await TestGateway.StartAsync(new Dictionary<string, string?>
        {
            ["Engine:MaxStreamAge"] = "00:05:00", ["Engine:DrainLinger"] = "00:01:00",
        }, time: clock);
        using var stream = gateway.OpenStream("openai");
        await stream.SendAsync(NewChat("openai", "before", "a"));
        Assert.True((await stream.ReadUntilAsync(ChatStream.IsTerminal)).Success);

        clock.Advance(TimeSpan.FromMinutes(5.5));          // drained, nothing in flight: lingering (its clock does not move)
        await stream.SendAsync(NewChat("openai", "during the linger", "b"));
        var refused = await stream.ReadUntilAsync(ChatStream.IsTerminal);
        Assert.Equal(503, refused.Code);                   // still read, refused as not run
        Assert.StartsWith("the server is draining", refused.Error.ErrorMessage);
        await stream.CompleteAsync();                       // the client half-closes: the call ends at once
        Assert.Equal(StatusCode.OK, (await stream.ReadToEndAsync()).StatusCode);
        Assert.Equal("max-age", stream.Call.GetTrailers().GetValue("integration-api-stream-end"));
        Assert.Single(gateway.OpenAI.Requests);
    }

    [Fact]
    public async Task MaximumStreamAge_StreamDrainsAndEndsOk()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var gateway = await TestGateway.StartAsync(new Dictionary<string, string?> { ["Engine:MaxStreamAge"] = "00:05:00", ["Engine:DrainLinger"] = "00:00:00" }, time: clock);
        gateway.OpenAI.DefaultScript = new FakeScript { TextChunks = ["a"] };
        using var stream = gateway.OpenStream("openai");

        await stream.SendAsync(NewChat("openai", "before"));
        Assert.True((await stream.ReadUntilAsync(ChatStream.IsTerminal)).Success);
        // Without half-closing, the server ends the call once the stream is old enough (the stream was open when
        // its request was answered, so its age timer is armed).
        clock.Advance(TimeSpan.FromMinutes(5.5)); // the age is jittered by up to ±10 %
        Assert.Equal(StatusCode.OK, (await stream.ReadToEndAsync()).StatusCode);
        Assert.Equal("max-age", stream.Call.GetTrailers().GetValue("integration-api-stream-end"));
    }

    [Fact]
    public async Task SlowReader_UpstreamReadsPause_MemoryStaysBounded_NothingLost()
    {
        await using var gateway = await TestGateway.StartAsync(new Dictionary<string, string?> { ["Engine:ResponseBufferPerStream"] = "8" });
        const int chunks = 6000, size = 4096; // ~24 MB of text: far more than every buffer on the way
        var script = FakeScript.Large(chunks, size);
        gateway.OpenAI.DefaultScript = script;
        using var stream = gateway.OpenStream("openai");

        await stream.SendAsync(NewChat("openai", "big"));
        await stream.ReadAsync();
        // The client reads nothing more. The fake must get stuck writing, far from the end.
        var upstream = gateway.OpenAI.Requests[0];
        var finishedWhileNotReading = await Task.WhenAny(upstream.Finished, Task.Delay(TimeSpan.FromSeconds(1))) == upstream.Finished;
        var written = upstream.ChunksWritten;
        Assert.False(finishedWhileNotReading, "the fake finished although the client read nothing: the service buffered the answer");
        Assert.True(written < chunks / 2, $"{written} of {chunks} chunks left the fake while the client was not reading");

        var terminal = await stream.ReadUntilAsync(ChatStream.IsTerminal);
        Assert.True(terminal.Success, terminal.Describe());
        Assert.Equal(script.Text.Length, terminal.Text().Length);
        Assert.Equal(script.Text, stream.DeltaText());
    }
}
