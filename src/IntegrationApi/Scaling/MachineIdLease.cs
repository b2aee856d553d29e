using IntegrationApi.Engine;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace IntegrationApi.Scaling;

/// <summary>
/// Leases this instance's request-id machine id in Redis, so that instances sharing an audit store (whose primary key is
/// the request id) never mint the same id with <c>Engine:MachineId</c> left at its default.
/// <list type="number">
/// <item>At start, before the service listens: <c>SET {prefix}machine-id:{n} {instance} NX PX ttl</c> for n = 1…1023 from a
///   random first one; the first that is free becomes <see cref="RequestIdGenerator.UseMachineId"/>.</item>
/// <item>Every third of <see cref="RedisOptions.MachineIdTtl"/> the lease is renewed only if it is still this instance's
///   (one Lua script); one lost (Redis lost its data, or this instance was cut off longer than the TTL) is leased anew.</item>
/// <item>Redis unreachable at start: a random id 1–1023 with an error log, and the lease is tried again at each renewal.</item>
/// <item>On stop the lease is given back (only if still ours), so a restarted instance does not wait out the TTL.</item>
/// </list>
/// Only when Redis is configured, <see cref="RedisOptions.LeaseMachineId"/> is on and <c>Engine:MachineId</c> is 0.
/// </summary>
internal sealed partial class MachineIdLease(
    RedisConnection redis, RequestIdGenerator ids, IOptions<EngineOptions> engine, TimeProvider time, ILogger<MachineIdLease> logger) : IHostedService, IDisposable
{
    private const int Highest = 1023;

    private const string RenewScript = """
        if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
        return 0
        """;

    private const string ReleaseScript = """
        if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
        return 0
        """;

    private readonly string _instance = $"{Environment.MachineName}:{Environment.ProcessId}:{Guid.NewGuid():N}";
    private readonly CancellationTokenSource _stop = new();
    private Task? _renewing;
    private int _held; // the machine id held in Redis, 0 for none

    /// <summary>The machine id this instance holds in Redis; 0 when it holds none.</summary>
    public int Held => Volatile.Read(ref _held);

    private bool Active => redis.Options.Enabled && redis.Options.LeaseMachineId && engine.Value.MachineId == 0;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (!Active) return;
        if (await TryLeaseAsync().ConfigureAwait(false) is { } id)
            Log.Leased(logger, id);
        else
        {
            var fallback = Random.Shared.Next(1, Highest + 1);
            ids.UseMachineId(fallback);
            Log.NotLeased(logger, fallback);
        }
        _renewing = RenewLoopAsync();
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (!Active) return;
        await _stop.CancelAsync().ConfigureAwait(false);
        if (_renewing is not null) await _renewing.ConfigureAwait(false);
        var held = Held;
        if (held == 0) return;
        try { await redis.Database.ScriptEvaluateAsync(ReleaseScript, [Key(held)], [_instance]).ConfigureAwait(false); }
        catch (Exception ex) when (ex is RedisException or TimeoutException or ObjectDisposedException) { /* it expires within the TTL */ }
    }

    /// <summary>Leases the first free id from a random start; null when none could be had (Redis down, or every id taken).</summary>
    private async Task<int?> TryLeaseAsync()
    {
        try
        {
            if (!redis.Multiplexer.IsConnected) return null;
            var first = Random.Shared.Next(1, Highest + 1);
            for (var i = 0; i < Highest; i++)
            {
                var id = (first - 1 + i) % Highest + 1;
                if (!await redis.Database.StringSetAsync(Key(id), _instance, redis.Options.MachineIdTtl, When.NotExists).ConfigureAwait(false)) continue;
                Volatile.Write(ref _held, id);
                ids.UseMachineId(id);
                return id;
            }
            Log.AllTaken(logger, Highest);
            return null;
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            Log.LeaseFailed(logger, ex);
            return null;
        }
    }

    private async Task RenewLoopAsync()
    {
        using var timer = new PeriodicTimer(redis.Options.MachineIdTtl / 3, time);
        try
        {
            while (await timer.WaitForNextTickAsync(_stop.Token).ConfigureAwait(false))
            {
                var held = Held;
                if (held != 0)
                {
                    try
                    {
                        var renewed = (long)await redis.Database.ScriptEvaluateAsync(RenewScript, [Key(held)],
                            [_instance, (long)redis.Options.MachineIdTtl.TotalMilliseconds]).ConfigureAwait(false);
                        if (renewed == 1) continue;
                        Log.Lost(logger, held);
                        Volatile.Write(ref _held, 0);
                    }
                    catch (Exception ex) when (ex is RedisException or TimeoutException)
                    {
                        Log.RenewFailed(logger, held, ex);
                        continue;
                    }
                }
                if (await TryLeaseAsync().ConfigureAwait(false) is { } id) Log.Leased(logger, id);
            }
        }
        catch (OperationCanceledException) { }
    }

    private RedisKey Key(int id) => redis.Key($"machine-id:{id}");

    public void Dispose() => _stop.Dispose();

    private static partial class Log
    {
        [LoggerMessage(110, LogLevel.Information, "Request ids use machine id {MachineId}, leased in Redis")]
        public static partial void Leased(ILogger logger, int machineId);

        [LoggerMessage(111, LogLevel.Error, "Could not lease a machine id in Redis; request ids use the random machine id {MachineId} until a lease succeeds (set Engine:MachineId per instance to avoid any collision; docs/scaling.md)")]
        public static partial void NotLeased(ILogger logger, int machineId);

        [LoggerMessage(112, LogLevel.Error, "Every machine id (1–{Highest}) is leased in Redis by other instances")]
        public static partial void AllTaken(ILogger logger, int highest);

        [LoggerMessage(113, LogLevel.Warning, "Could not reach Redis to lease a machine id")]
        public static partial void LeaseFailed(ILogger logger, Exception exception);

        [LoggerMessage(114, LogLevel.Error, "The machine id lease {MachineId} was lost in Redis (expired or taken); leasing another")]
        public static partial void Lost(ILogger logger, int machineId);

        [LoggerMessage(115, LogLevel.Warning, "Could not renew the machine id lease {MachineId} in Redis; it expires unless a later renewal succeeds")]
        public static partial void RenewFailed(ILogger logger, int machineId, Exception exception);
    }
}
