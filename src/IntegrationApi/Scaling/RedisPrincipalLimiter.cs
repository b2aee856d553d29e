using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using IntegrationApi.Api;
using IntegrationApi.Auth;
using IntegrationApi.Engine;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace IntegrationApi.Scaling;

/// <summary>
/// The per-principal limits counted in Redis, so that they hold over every instance (a sum, not per instance).
/// <list type="number">
/// <item>Running requests: one sorted set per principal, <c>{prefix}limits:{org:project}:running</c>, member = lease id,
///   score = the lease's expiry (Redis server time, ms). Acquiring drops expired leases, counts, and adds, in one Lua script.</item>
/// <item>This instance renews every lease it holds every third of <see cref="RedisOptions.LeaseTtl"/>; an instance that dies
///   stops renewing, so its slots come back within the TTL (nothing leaks).</item>
/// <item>Requests per second: one counter per principal and second of Redis time, <c>{prefix}limits:{org:project}:rate:&lt;unix s&gt;</c>, expiring after 2 s.</item>
/// <item>Redis unreachable or too slow (<see cref="RedisOptions.OperationTimeout"/>): <see cref="RedisOptions.WhenUnavailable"/> decides:
///   this instance's own limits (default) or a 503. An error log marks the start of each outage; the metric
///   <c>integration_api.limits.redis_unavailable</c> counts every request decided without Redis.</item>
/// </list>
/// </summary>
internal sealed partial class RedisPrincipalLimiter : IPrincipalLimiter, IDisposable
{
    private const string AcquireScript = """
        local t = redis.call('TIME')
        local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
        local limit = tonumber(ARGV[2])
        local ttl = tonumber(ARGV[4])
        if limit > 0 then
          redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
          if redis.call('ZCARD', KEYS[1]) >= limit then return 0 end
        end
        local rate = tonumber(ARGV[3])
        if rate > 0 then
          local window = KEYS[2] .. t[1]
          local n = redis.call('INCR', window)
          if n == 1 then redis.call('PEXPIRE', window, 2000) end
          if n > rate then return -1 end
        end
        if limit > 0 then
          redis.call('ZADD', KEYS[1], now + ttl, ARGV[1])
          redis.call('PEXPIRE', KEYS[1], ttl * 2)
        end
        return 1
        """;

    // Only leases still there are renewed (XX): one already dropped as expired stays dropped.
    private const string RenewScript = """
        local t = redis.call('TIME')
        local expires = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) + tonumber(ARGV[1])
        for i = 2, #ARGV do redis.call('ZADD', KEYS[1], 'XX', expires, ARGV[i]) end
        redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[1]) * 2)
        return #ARGV - 1
        """;

    private readonly RedisConnection _redis;
    private readonly PrincipalLimiter _local;
    private readonly EngineOptions _engine;
    private readonly ILogger _logger;
    private readonly Counter<long> _unavailable;
    private readonly string _instance = Guid.NewGuid().ToString("N")[..12];
    private readonly ConcurrentDictionary<string, RedisKey> _held = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stop = new();
    private long _nextLease;
    private int _down;

    public RedisPrincipalLimiter(RedisConnection redis, IOptions<EngineOptions> engine, IMeterFactory meters, TimeProvider time, ILogger<RedisPrincipalLimiter> logger)
    {
        (_redis, _engine, _logger) = (redis, engine.Value, logger);
        _local = new PrincipalLimiter(engine);
        _unavailable = meters.Create(Metrics.GatewayMetrics.MeterName).CreateCounter<long>("integration_api.limits.redis_unavailable",
            description: "Requests whose per-project limits were decided without Redis (unreachable or too slow), by what was done");
        _ = RenewLoopAsync(time);
    }

    public async ValueTask<PrincipalLease> AcquireAsync(CallerPrincipal principal, CancellationToken cancellationToken)
    {
        var limit = _engine.MaxConcurrentRequestsPerPrincipal;
        var rate = _engine.RequestsPerSecondPerPrincipal;
        if (limit == 0 && rate == 0) return new(null, null);
        var partition = $"limits:{{{principal.OrganizationId}:{principal.ProjectId}}}:";
        var running = _redis.Key(partition + "running");
        var leaseId = $"{_instance}-{Interlocked.Increment(ref _nextLease)}";
        long answer;
        try
        {
            if (!_redis.Multiplexer.IsConnected) return Unavailable(principal, null);
            answer = (long)await _redis.Database.ScriptEvaluateAsync(AcquireScript, [running, _redis.Key(partition + "rate:")],
                [leaseId, limit, rate, (long)_redis.Options.LeaseTtl.TotalMilliseconds]).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // A timed-out script may still have run and added the lease: take it out again (commands on one connection
            // run in order, so this lands after the script), else it holds a shared slot for the whole TTL.
            if (ex is TimeoutException && limit > 0)
                try { _redis.Database.SortedSetRemove(running, leaseId, CommandFlags.FireAndForget); }
                catch (Exception) { /* it expires by itself within the TTL */ }
            return Unavailable(principal, ex);
        }
        if (Interlocked.Exchange(ref _down, 0) != 0) Log.Back(_logger);
        switch (answer)
        {
            case 0: return PrincipalLease.Refused(PrincipalLimiter.TooManyRunning(_engine));
            case < 0: return PrincipalLease.Refused(PrincipalLimiter.TooManyPerSecond(_engine));
        }
        if (limit == 0) return new(null, null);
        _held[leaseId] = running;
        return new(new Lease(this, leaseId, running), null);
    }

    private PrincipalLease Unavailable(CallerPrincipal principal, Exception? ex)
    {
        var mode = _redis.Options.WhenUnavailable;
        if (Interlocked.Exchange(ref _down, 1) == 0) Log.Down(_logger, mode, ex);
        _unavailable.Add(1, new KeyValuePair<string, object?>("mode", mode == RedisUnavailableMode.Refuse ? "refused" : "local_limits"));
        return mode == RedisUnavailableMode.Refuse
            ? PrincipalLease.Refused(new ChatError(ChatErrors.Unavailable, "the shared limit store (Redis) is unreachable; retry shortly", "The service is busy; please retry."))
            : _local.TryAcquire(principal);
    }

    private void Release(string leaseId, RedisKey running)
    {
        if (!_held.TryRemove(leaseId, out _)) return;
        try { _redis.Database.SortedSetRemove(running, leaseId, CommandFlags.FireAndForget); }
        catch (Exception ex) when (ex is RedisException or ObjectDisposedException) { /* it expires by itself within the TTL */ }
    }

    /// <summary>
    /// Gives the slot back and waits (at most <c>Redis:OperationTimeout</c>) until Redis has it: a caller that sees a
    /// request's answer may start the next one at once, possibly through another instance, and must find the slot free.
    /// </summary>
    private async ValueTask ReleaseAsync(string leaseId, RedisKey running)
    {
        if (!_held.TryRemove(leaseId, out _)) return;
        try { await _redis.Database.SortedSetRemoveAsync(running, leaseId).WaitAsync(_redis.Options.OperationTimeout).ConfigureAwait(false); }
        catch (Exception ex) when (ex is RedisException or ObjectDisposedException or TimeoutException) { /* it expires by itself within the TTL */ }
    }

    private async Task RenewLoopAsync(TimeProvider time)
    {
        using var timer = new PeriodicTimer(_redis.Options.LeaseTtl / 3, time);
        try
        {
            while (await timer.WaitForNextTickAsync(_stop.Token).ConfigureAwait(false))
            {
                if (_held.IsEmpty) continue;
                var ttl = (long)_redis.Options.LeaseTtl.TotalMilliseconds;
                var renewals = _held.GroupBy(h => h.Value, h => (RedisValue)h.Key)
                    .Select(g => _redis.Database.ScriptEvaluateAsync(RenewScript, [g.Key], [ttl, .. g]));
                // Whatever goes wrong, the loop goes on: leases it stops renewing would silently stop counting.
                try { await Task.WhenAll(renewals).ConfigureAwait(false); }
                catch (Exception ex) when (ex is not OperationCanceledException) { Log.RenewFailed(_logger, ex); }
            }
        }
        catch (OperationCanceledException) { }
    }

    public void Dispose()
    {
        _stop.Cancel();
        _local.Dispose();
    }

    private sealed class Lease(RedisPrincipalLimiter owner, string id, RedisKey running) : IDisposable, IAsyncDisposable
    {
        public void Dispose() => owner.Release(id, running);
        public ValueTask DisposeAsync() => owner.ReleaseAsync(id, running);
    }

    private static partial class Log
    {
        [LoggerMessage(93, LogLevel.Error, "Redis is unreachable: per-project limits are now decided without it ({Mode}) until it answers again (docs/scaling.md)")]
        public static partial void Down(ILogger logger, RedisUnavailableMode mode, Exception? exception);

        [LoggerMessage(94, LogLevel.Information, "Redis answers again: per-project limits are shared across instances again")]
        public static partial void Back(ILogger logger);

        [LoggerMessage(95, LogLevel.Warning, "Could not renew concurrency leases in Redis; they expire unless a later renewal succeeds")]
        public static partial void RenewFailed(ILogger logger, Exception exception);
    }
}
