using IntegrationApi.Api;
using IntegrationApi.Auth;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace IntegrationApi.Scaling;

/// <summary>Registration of what several instances share (docs/scaling.md).</summary>
internal static class ScalingServiceCollectionExtensions
{
    /// <summary>
    /// The per-principal limiter (in-process, or in Redis when <c>Redis:Configuration</c> is set) and, with Redis, the
    /// key revocation broadcast and the request-id machine id lease.
    /// </summary>
    public static IServiceCollection AddScaleOut(this IServiceCollection services)
    {
        services.AddValidatedOptions<RedisOptions, RedisOptionsValidator>("Redis");
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<RedisOptions>, RedisConfigurationValidator>());
        services.TryAddSingleton<RedisConnection>();
        services.TryAddSingleton<PrincipalLimiter>();
        services.TryAddSingleton<RedisPrincipalLimiter>();
        services.TryAddSingleton<IPrincipalLimiter>(sp => sp.GetRequiredService<IOptions<RedisOptions>>().Value.Enabled
            ? sp.GetRequiredService<RedisPrincipalLimiter>()
            : sp.GetRequiredService<PrincipalLimiter>());
        // Only with Redis: ApiKeyStore takes a broadcast when there is one.
        services.TryAddSingleton<IKeyRevocationBroadcast>(sp => sp.GetRequiredService<IOptions<RedisOptions>>().Value.Enabled
            ? ActivatorUtilities.CreateInstance<RedisRevocationPublisher>(sp)
            : NoBroadcast.Instance);
        services.AddHostedService<RevocationSubscriberHost>();
        // Hosted services start before the server listens: no request id is minted before the lease is taken.
        services.TryAddSingleton<MachineIdLease>();
        services.AddHostedService(sp => sp.GetRequiredService<MachineIdLease>());
        return services;
    }

    private sealed class NoBroadcast : IKeyRevocationBroadcast
    {
        public static readonly NoBroadcast Instance = new();
        public void Publish(string sha256) { }
    }

    /// <summary>Starts the subscriber only when Redis is configured.</summary>
    private sealed class RevocationSubscriberHost(IServiceProvider services, IOptions<RedisOptions> options) : IHostedService
    {
        private RevocationSubscriber? _subscriber;

        public Task StartAsync(CancellationToken cancellationToken)
        {
            if (!options.Value.Enabled) return Task.CompletedTask;
            _subscriber = ActivatorUtilities.CreateInstance<RevocationSubscriber>(services);
            return _subscriber.StartAsync(cancellationToken);
        }

        public Task StopAsync(CancellationToken cancellationToken) => _subscriber?.StopAsync(cancellationToken) ?? Task.CompletedTask;
    }
}
