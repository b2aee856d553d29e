using System.Text.RegularExpressions;
using IntegrationApi.Auth;
using StackExchange.Redis;

namespace IntegrationApi.Scaling;

/// <summary>Announces a revoked key on the Redis channel <c>{prefix}revoked-keys</c> (the message is the key's SHA-256, never the key).</summary>
internal sealed partial class RedisRevocationPublisher(RedisConnection redis, ILogger<RedisRevocationPublisher> logger) : IKeyRevocationBroadcast
{
    public const string Channel = "revoked-keys";

    public void Publish(string sha256)
    {
        try { redis.Multiplexer.GetSubscriber().Publish(RedisChannel.Literal(redis.Options.KeyPrefix + Channel), sha256); }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            Log.PublishFailed(logger, ex);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(96, LogLevel.Warning, "Could not announce a key revocation through Redis; other instances refuse the key within Auth:RevocationCheckInterval")]
        public static partial void PublishFailed(ILogger logger, Exception exception);
    }
}

/// <summary>
/// Listens on <c>{prefix}revoked-keys</c>: a key revoked through any instance (or the <c>keys revoke</c> command) is refused by
/// this instance's open streams and new calls at once. A message missed while Redis was unreachable is covered by the
/// per-key re-check (<see cref="AuthOptions.RevocationCheckInterval"/>), which stays the bound.
/// </summary>
internal sealed partial class RevocationSubscriber(RedisConnection redis, CallerAuthenticator authenticator, ApiKeyStore store, TimeProvider time,
    ILogger<RevocationSubscriber> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await Task.Yield(); // connecting may block; not on the host's start-up path
        var channel = RedisChannel.Literal(redis.Options.KeyPrefix + RedisRevocationPublisher.Channel);
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                // Once subscribed, the multiplexer re-subscribes by itself after a reconnect.
                await redis.Multiplexer.GetSubscriber().SubscribeAsync(channel, (_, message) => OnRevoked(message)).ConfigureAwait(false);
                return;
            }
            catch (Exception ex) when (ex is RedisException or TimeoutException)
            {
                Log.SubscribeFailed(logger, ex);
                try { await Task.Delay(TimeSpan.FromSeconds(1), time, stoppingToken).ConfigureAwait(false); }
                catch (OperationCanceledException) { return; }
            }
        }
    }

    private void OnRevoked(RedisValue message)
    {
        var hash = (string?)message;
        if (hash is null || !Sha256Hex().IsMatch(hash)) return;
        store.Forget(hash);
        authenticator.MarkRevoked(hash);
        Log.Revoked(logger);
    }

    [GeneratedRegex("^[0-9a-f]{64}$")]
    private static partial Regex Sha256Hex();

    private static partial class Log
    {
        [LoggerMessage(97, LogLevel.Warning, "Could not subscribe to key revocations in Redis; retrying (meanwhile revocations reach this instance within Auth:RevocationCheckInterval)")]
        public static partial void SubscribeFailed(ILogger logger, Exception exception);

        [LoggerMessage(98, LogLevel.Information, "A stored API key was revoked on another instance; it is refused here from now on")]
        public static partial void Revoked(ILogger logger);
    }
}
