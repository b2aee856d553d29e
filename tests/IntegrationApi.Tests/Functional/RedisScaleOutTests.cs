using System.Diagnostics;
using System.Diagnostics.Metrics;
using Grpc.Core;
using IntegrationApi.Auth;
using IntegrationApi.Engine;
using IntegrationApi.Scaling;
using IntegrationApi.Testing;
using IntegrationApi.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace IntegrationApi.Tests.Functional;

/// <summary>
/// Several gateways sharing one real redis-server (started by the test on a free port): the per-project limits are a sum
/// over the instances, leases of a gone instance come back within their TTL, a revocation reaches the other instances'
/// open streams at once, and with Redis killed the limits fall back as configured.
/// </summary>
public sealed class RedisScaleOutTests
{
    private static Dictionary<string, string?> Settings(RedisServer redis, int limit = 2, string? extra = null) => new()
    {
        ["Redis:Configuration"] = redis.Configuration,
        ["Redis:KeyPrefix"] = $"t{Guid.NewGuid():N}:",
        ["Engine:MaxConcurrentRequestsPerPrincipal"] = limit.ToString(),
    };

    private static FakeScript Hold => new() { TextChunks = ["h1", "h2"], Fault = FakeFault.Stall, FaultAfterChunks = 1 };

    [SkippableFact]
    public async Task ConcurrencyLimit_TwoGatewaysOneRedis_HoldsAsASum()
    {
        Skip.If(RedisServer.FindBinary() is null, RedisServer.SkipReason);
        await using var redis = await RedisServer.StartAsync();
        var settings = Settings(redis, limit: 2);
        await using var a = await TestGateway.StartAsync(settings);
        await using var b = await TestGateway.StartAsync(settings);
        a.OpenAI.On("hold", Hold);
        b.OpenAI.On("hold", Hold);
        using var onA = a.OpenStream("openai");
        using var onB = b.OpenStream("openai");

        await onA.SendAsync(a.NewChat("openai", "hold", "A1"));
        await onA.ReadAsync();
        await onB.SendAsync(b.NewChat("openai", "hold", "B1"));
        await onB.ReadAsync();                                           // two running, one on each instance
        await onB.SendAsync(b.NewChat("openai", "third", "B2"));
        var refused = await onB.ReadUntilAsync(r => r.ClientRequestId == "B2" && ChatStream.IsTerminal(r));
        Assert.Equal(429, refused.Code);                                 // per instance it would have been 1 of 2
        Assert.Contains("this project", refused.Error.ErrorMessage);
        Assert.Equal(429, (await a.ChatAsync("openai", a.NewChat("openai", "unary"))).Code);

        await onA.CancelAsync("A1");
        Assert.Equal(499, (await onA.ReadUntilAsync(ChatStream.IsTerminal)).Code);
        await onB.SendAsync(b.NewChat("openai", "again", "B3"));        // A's lease was released in Redis
        Assert.True((await onB.ReadUntilAsync(r => r.ClientRequestId == "B3" && ChatStream.IsTerminal(r))).Success);
    }

    [SkippableFact]
    public async Task RateLimit_TwoGatewaysOneRedis_HoldsAsASum()
    {
        Skip.If(RedisServer.FindBinary() is null, RedisServer.SkipReason);
        await using var redis = await RedisServer.StartAsync();
        var settings = Settings(redis, limit: 0);
        settings["Engine:RequestsPerSecondPerPrincipal"] = "3";
        await using var a = await TestGateway.StartAsync(settings);
        await using var b = await TestGateway.StartAsync(settings);
        // Warm both up (first connections are slow), then six requests at once, three through each instance, fired at the
        // start of a fresh second (Redis counts per second of its clock, the same host's); again if they took too long.
        Assert.True((await a.ChatAsync("openai", a.NewChat("openai", "warm-up a"))).Success);
        Assert.True((await b.ChatAsync("openai", b.NewChat("openai", "warm-up b"))).Success);
        for (var attempt = 0; ; attempt++)
        {
            await NextSecondAsync();
            var started = Stopwatch.StartNew();
            var answers = await Task.WhenAll(Enumerable.Range(0, 6).Select(i => (i % 2 == 0 ? a : b) is var g ? g.ChatAsync("openai", g.NewChat("openai", $"r{i}")) : null!));
            if (started.Elapsed > TimeSpan.FromMilliseconds(700) && attempt < 3) continue; // the six may have straddled two seconds
            Assert.Equal(3, answers.Count(x => x.Success));
            Assert.All(answers.Where(x => !x.Success), x => Assert.Contains("per second for this project", x.Error.ErrorMessage));
            break;
        }
    }

    /// <summary>Waits (bounded polling) until the wall clock has just passed a whole second.</summary>
    private static async Task NextSecondAsync()
    {
        var second = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        while (DateTimeOffset.UtcNow.ToUnixTimeSeconds() == second) await Task.Delay(5);
    }

    [SkippableFact]
    public async Task ConcurrencyLease_RenewedWhileHeld_BackWithinTtlWhenItsInstanceIsGone()
    {
        Skip.If(RedisServer.FindBinary() is null, RedisServer.SkipReason);
        await using var redis = await RedisServer.StartAsync();
        var options = Options.Create(new RedisOptions { Configuration = redis.Configuration, KeyPrefix = $"t{Guid.NewGuid():N}:", LeaseTtl = TimeSpan.FromSeconds(1) });
        var engine = Options.Create(new EngineOptions { MaxConcurrentRequestsPerPrincipal = 1 });
        using var meters = new ServiceCollection().AddMetrics().BuildServiceProvider();
        RedisPrincipalLimiter Instance(RedisConnection c) => new(c, engine, meters.GetRequiredService<IMeterFactory>(), TimeProvider.System, NullLogger<RedisPrincipalLimiter>.Instance);
        using var connectionA = new RedisConnection(options, NullLogger<RedisConnection>.Instance);
        using var connectionB = new RedisConnection(options, NullLogger<RedisConnection>.Instance);
        var a = Instance(connectionA);
        using var b = Instance(connectionB);
        var principal = new CallerPrincipal(5, 6, null, null, "test");

        var held = await a.AcquireAsync(principal, default);
        Assert.Null(held.Refusal);
        // Three TTLs later the lease is still there: A renews it.
        var until = Stopwatch.StartNew();
        while (until.Elapsed < TimeSpan.FromSeconds(3))
        {
            using var other = await b.AcquireAsync(principal, default);
            Assert.NotNull(other.Refusal);
            await Task.Delay(100);
        }

        a.Dispose(); // the instance is gone: no release, no renewal
        var gone = Stopwatch.StartNew();
        while (true)
        {
            using var other = await b.AcquireAsync(principal, default);
            if (other.Refusal is null) break;
            Assert.True(gone.Elapsed < TimeSpan.FromSeconds(5), "the dead instance's slot never came back");
            await Task.Delay(50);
        }
        Assert.True(gone.Elapsed < TimeSpan.FromSeconds(1.6), $"slot back after {gone.Elapsed} (TTL 1 s)");
        Console.WriteLine($"Redis lease of a gone instance came back after {gone.Elapsed.TotalMilliseconds:F0} ms (TTL 1000 ms)");
    }

    [SkippableFact]
    public async Task RedisKilled_LocalLimitsMode_ServesWithThisInstancesLimit_LogsAndCounts_SharedAgainWhenBack()
    {
        Skip.If(RedisServer.FindBinary() is null, RedisServer.SkipReason);
        await using var redis = await RedisServer.StartAsync();
        await using var gateway = await TestGateway.StartAsync(Settings(redis, limit: 1));
        gateway.AllowErrorLogs = true; // the outage is logged at Error on purpose
        using var recorder = new MeasurementRecorder(gateway, "integration_api.limits.redis_unavailable");
        gateway.OpenAI.On("hold", Hold);
        Assert.True((await gateway.ChatAsync("openai", gateway.NewChat("openai", "with redis"))).Success);

        redis.Stop();
        using var stream = gateway.OpenStream("openai");
        await stream.SendAsync(gateway.NewChat("openai", "hold", "A"));
        Assert.Equal(200, (await stream.ReadAsync())!.Code);             // served: the limit fails open…
        await stream.SendAsync(gateway.NewChat("openai", "second", "B"));
        Assert.Equal(429, (await stream.ReadUntilAsync(r => r.ClientRequestId == "B" && ChatStream.IsTerminal(r))).Code); // …to this instance's own
        Assert.Contains(gateway.Logs.Entries, e => e.Level == Microsoft.Extensions.Logging.LogLevel.Error && e.Message.StartsWith("Redis is unreachable", StringComparison.Ordinal));
        Assert.All(recorder.Of("integration_api.limits.redis_unavailable"), m => Assert.Equal("local_limits", m.Tags["mode"]));
        Assert.Equal(2, recorder.Of("integration_api.limits.redis_unavailable").Count);
        await stream.CancelAsync("A");
        await stream.ReadUntilAsync(r => r.ClientRequestId == "A" && ChatStream.IsTerminal(r));

        await redis.StartAgainAsync();
        var back = Stopwatch.StartNew();
        while (!gateway.Logs.Entries.Any(e => e.Message.StartsWith("Redis answers again", StringComparison.Ordinal)))
        {
            Assert.True(back.Elapsed < TimeSpan.FromSeconds(10), "never used Redis again");
            Assert.True((await gateway.ChatAsync("openai", gateway.NewChat("openai", "after"))).Success);
            await Task.Delay(100);
        }
    }

    [SkippableFact]
    public async Task RedisKilled_RefuseMode_EveryRequestGets503()
    {
        Skip.If(RedisServer.FindBinary() is null, RedisServer.SkipReason);
        await using var redis = await RedisServer.StartAsync();
        var settings = Settings(redis);
        settings["Redis:WhenUnavailable"] = "Refuse";
        await using var gateway = await TestGateway.StartAsync(settings);
        gateway.AllowErrorLogs = true;
        using var recorder = new MeasurementRecorder(gateway, "integration_api.limits.redis_unavailable");
        Assert.True((await gateway.ChatAsync("openai", gateway.NewChat("openai", "with redis"))).Success);

        redis.Stop();
        var refused = await gateway.ChatAsync("openai", gateway.NewChat("openai", "without"));
        Assert.Equal(503, refused.Code);
        Assert.Contains("Redis", refused.Error.ErrorMessage);
        Assert.Equal("refused", Assert.Single(recorder.Of("integration_api.limits.redis_unavailable")).Tags["mode"]);
        Assert.Single(gateway.OpenAI.Requests); // the refused one never reached the provider
    }

    [SkippableFact]
    public async Task RevokedThroughOneGateway_OpenStreamOnAnotherRefusesAtOnce_NewStreamsToo()
    {
        Skip.If(RedisServer.FindBinary() is null, RedisServer.SkipReason);
        await using var redis = await RedisServer.StartAsync();
        var settings = Settings(redis);
        settings["Auth:KeyStorePath"] = Path.Combine(Path.GetTempPath(), "integration-api-tests", $"keys-{Guid.NewGuid():N}.db"); // shared by both
        settings["Auth:RevocationCheckInterval"] = "01:00:00";          // only the broadcast can explain a refusal
        await using var a = await TestGateway.StartAsync(settings);
        await using var b = await TestGateway.StartAsync(settings);
        var (key, secret) = a.App.Services.GetRequiredService<ApiKeyStore>().Create(11, 12, "broadcast");
        var headers = new Metadata { { CallerAuthenticator.ApiKeyHeader, secret } };
        using var onB = b.OpenStream("openai", headers);
        await onB.SendAsync(b.NewChat("openai", "before"));
        Assert.True((await onB.ReadUntilAsync(ChatStream.IsTerminal)).Success);

        var revoked = Stopwatch.StartNew();
        Assert.True(a.App.Services.GetRequiredService<ApiKeyStore>().Revoke(key.Id));
        // Published on revoke, delivered asynchronously: poll (bounded) with requests on B's open stream.
        while (true)
        {
            await onB.SendAsync(b.NewChat("openai", "after"));
            var terminal = await onB.ReadUntilAsync(ChatStream.IsTerminal);
            if (terminal.Code == 401) { Assert.Contains("revoked", terminal.Error.ErrorMessage); break; }
            Assert.True(revoked.Elapsed < TimeSpan.FromSeconds(5), "the revocation never reached the other instance");
            await Task.Delay(20);
        }
        Console.WriteLine($"Revocation reached the other instance's open stream after {revoked.Elapsed.TotalMilliseconds:F0} ms");
        using var fresh = b.OpenStream("openai", headers);
        var ex = await Assert.ThrowsAsync<RpcException>(async () => { await fresh.SendAsync(b.NewChat("openai", "new")); await fresh.ReadToEndAsync(); });
        Assert.Equal(StatusCode.Unauthenticated, ex.StatusCode);
    }

    [SkippableFact]
    public async Task MachineId_LeasedPerInstance_DistinctAndNonZero_GivenBackOnStop_ExplicitOneKept()
    {
        Skip.If(RedisServer.FindBinary() is null, RedisServer.SkipReason);
        await using var redis = await RedisServer.StartAsync();
        var settings = Settings(redis);
        var prefix = settings["Redis:KeyPrefix"]!;
        await using var a = await TestGateway.StartAsync(settings);
        var b = await TestGateway.StartAsync(settings);
        var idA = a.App.Services.GetRequiredService<RequestIdGenerator>().MachineId;
        var idB = b.App.Services.GetRequiredService<RequestIdGenerator>().MachineId;
        Assert.InRange(idA, 1, 1023);
        Assert.InRange(idB, 1, 1023);
        Assert.NotEqual(idA, idB);                                       // both left Engine:MachineId at 0

        // The id is in every request id (bits 12–21) and held in Redis with a TTL.
        var terminal = await b.ChatAsync("openai", b.NewChat("openai", "hi"));
        Assert.Equal((ulong)idB, (terminal.RequestId >> 12) & 0x3FF);
        await using var client = await StackExchange.Redis.ConnectionMultiplexer.ConnectAsync(redis.Configuration);
        var db = client.GetDatabase();
        Assert.True(await db.KeyExistsAsync($"{prefix}machine-id:{idA}"));
        Assert.True(await db.KeyExistsAsync($"{prefix}machine-id:{idB}"));
        Assert.NotNull(await db.KeyTimeToLiveAsync($"{prefix}machine-id:{idB}"));

        await b.DisposeAsync();                                          // a stopped instance gives its id back at once
        Assert.False(await db.KeyExistsAsync($"{prefix}machine-id:{idB}"));
        Assert.True(await db.KeyExistsAsync($"{prefix}machine-id:{idA}"));

        settings["Engine:MachineId"] = "7";                              // an operator's explicit id is kept, nothing leased
        await using var c = await TestGateway.StartAsync(settings);
        Assert.Equal(7, c.App.Services.GetRequiredService<RequestIdGenerator>().MachineId);
        var keys = client.GetServer(client.GetEndPoints()[0]).Keys(pattern: $"{prefix}machine-id:*").ToArray();
        Assert.Equal([$"{prefix}machine-id:{idA}"], keys.Select(k => k.ToString()));
    }
}
