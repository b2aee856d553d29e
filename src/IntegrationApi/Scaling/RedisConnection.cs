using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace IntegrationApi.Scaling;

/// <summary>
/// The one multiplexed connection to Redis. It is made without waiting for Redis (an unreachable Redis never stops the
/// service from starting) and reconnects by itself; commands fail at once while it is down (no backlog), so a request
/// never waits on a Redis that is not there.
/// </summary>
internal sealed partial class RedisConnection : IDisposable
{
    private readonly Lazy<ConnectionMultiplexer> _multiplexer;

    public RedisConnection(IOptions<RedisOptions> options, ILogger<RedisConnection> logger)
    {
        Options = options.Value;
        _multiplexer = new(() =>
        {
            var config = ConfigurationOptions.Parse(Options.Configuration);
            config.AbortOnConnectFail = false;
            config.BacklogPolicy = BacklogPolicy.FailFast;
            var timeout = (int)Options.OperationTimeout.TotalMilliseconds;
            config.AsyncTimeout = config.SyncTimeout = timeout;
            config.ConnectTimeout = Math.Max(timeout, 5000); // the first connection (at start, off the request path) may be slow on a busy host
            config.ClientName ??= "integration-api";
            config.ReconnectRetryPolicy ??= new LinearRetry(1000); // back within a second of Redis coming back
            var multiplexer = ConnectionMultiplexer.Connect(config);
            multiplexer.ConnectionFailed += (_, e) => Log.Lost(logger, e.EndPoint?.ToString() ?? "?", e.FailureType, e.Exception);
            multiplexer.ConnectionRestored += (_, e) => Log.Restored(logger, e.EndPoint?.ToString() ?? "?");
            if (!multiplexer.IsConnected) Log.NotReachable(logger);
            return multiplexer;
        });
    }

    public RedisOptions Options { get; }

    public ConnectionMultiplexer Multiplexer => _multiplexer.Value;

    public IDatabase Database => Multiplexer.GetDatabase();

    /// <summary>A key under the configured prefix.</summary>
    public RedisKey Key(string name) => Options.KeyPrefix + name;

    public void Dispose()
    {
        if (_multiplexer.IsValueCreated) _multiplexer.Value.Dispose();
    }

    private static partial class Log
    {
        [LoggerMessage(90, LogLevel.Error, "Redis is not reachable at start; it is retried in the background (docs/scaling.md: what holds meanwhile)")]
        public static partial void NotReachable(ILogger logger);

        [LoggerMessage(91, LogLevel.Warning, "Lost the Redis connection to {EndPoint} ({FailureType})")]
        public static partial void Lost(ILogger logger, string endPoint, ConnectionFailureType failureType, Exception? exception);

        [LoggerMessage(92, LogLevel.Information, "Redis connection to {EndPoint} restored")]
        public static partial void Restored(ILogger logger, string endPoint);
    }
}
