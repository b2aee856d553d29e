using IntegrationApi.Api;
using IntegrationApi.Auth;
using IntegrationApi.Metrics;
using Grpc.AspNetCore.Server;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Options;
using OpenTelemetry.Metrics;
using IntegrationApi.Providers;
using IntegrationApi.Engine;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace IntegrationApi;

/// <summary>The composition root: reads like the service's table of contents.</summary>
public static class IntegrationApiServiceCollectionExtensions
{
    /// <summary>Adds the engine, the providers, caller authentication and the gRPC services.</summary>
    public static IServiceCollection AddIntegrationApi(this IServiceCollection services)
    {
        services.TryAddSingleton(TimeProvider.System);
        services.AddEngine();
        services.AddProviders();
        services.AddCallerAuth();
        services.AddGatewayMetrics();
        services.AddAudit();
        services.AddConnections();
        services.AddGrpc(o => o.Interceptors.Add<AuthInterceptor>());
        services.AddGrpcReflection();
        services.AddGrpcHealthChecks().AddCheck<DrainHealthCheck>("not-draining").AddCheck<Audit.AuditStoreHealthCheck>("audit-store");
        return services;
    }

    /// <summary>Maps the eight provider services and <c>LlmService</c>.</summary>
    public static IEndpointRouteBuilder MapIntegrationApi(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapGrpcService<OpenAiServiceBinding>();
        endpoints.MapGrpcService<AzureServiceBinding>();
        endpoints.MapGrpcService<GeminiServiceBinding>();
        endpoints.MapGrpcService<VertexAiServiceBinding>();
        endpoints.MapGrpcService<ReplicateServiceBinding>();
        endpoints.MapGrpcService<AnthropicServiceBinding>();
        endpoints.MapGrpcService<CohereServiceBinding>();
        endpoints.MapGrpcService<MistralServiceBinding>();
        endpoints.MapGrpcService<LlmServiceBinding>();
        endpoints.MapGrpcService<AuditLoggingServiceBinding>();
        endpoints.MapGrpcHealthChecksService();
        if (endpoints.ServiceProvider.GetRequiredService<OpenMethods>().ReflectionEnabled) endpoints.MapGrpcReflectionService();
        endpoints.MapHealthChecks("/readiness");
        endpoints.MapGet("/healthz", () => Results.Ok(new { healthy = true }));
        endpoints.MapPrometheusScrapingEndpoint("/metrics");
        return endpoints;
    }

    private static void AddGatewayMetrics(this IServiceCollection services)
    {
        services.AddMetrics();
        services.TryAddSingleton<GatewayMetrics>();
        services.AddOpenTelemetry().WithMetrics(m => m.AddMeter(GatewayMetrics.MeterName).AddPrometheusExporter());
    }

    private static void AddAudit(this IServiceCollection services)
    {
        services.AddOptions<Audit.AuditOptions>().BindConfiguration("Audit").ValidateDataAnnotations()
            .Validate(o => !o.Store.Equals("postgres", StringComparison.OrdinalIgnoreCase) || o.PostgresConnectionString.Length > 0,
                "Audit:PostgresConnectionString is required when Audit:Store is postgres (environment variable Audit__PostgresConnectionString)")
            .ValidateOnStart();
        services.TryAddSingleton<Audit.IAuditStore, Audit.SqlAuditStore>();
        services.TryAddSingleton<Audit.AuditWriter>();
        services.AddHostedService(sp => sp.GetRequiredService<Audit.AuditWriter>());
        services.TryAddSingleton<Audit.AuditTrail>();
    }

    private static void AddConnections(this IServiceCollection services)
    {
        services.AddOptions<ConnectionOptions>().BindConfiguration("Server").ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<KestrelServerOptions>().Configure<IOptions<ConnectionOptions>>((kestrel, o) =>
        {
            kestrel.Limits.Http2.KeepAlivePingDelay = o.Value.KeepAlivePingDelay;
            kestrel.Limits.Http2.KeepAlivePingTimeout = o.Value.KeepAlivePingTimeout;
        });
        services.AddOptions<GrpcServiceOptions>().Configure<IOptions<ConnectionOptions>>((grpc, o) => grpc.MaxReceiveMessageSize = o.Value.MaxReceiveMessageSize);
    }

    private static void AddEngine(this IServiceCollection services)
    {
        services.AddOptions<EngineOptions>().BindConfiguration("Engine").ValidateDataAnnotations().ValidateOnStart();
        services.TryAddSingleton<RequestIdGenerator>();
        services.TryAddSingleton<ChatEngine>();
        services.TryAddSingleton<ChatRouting>();
        services.TryAddSingleton<UnaryChat>();
        services.TryAddSingleton<StreamChatSessionFactory>();
        services.TryAddSingleton<CredentialCheck>();
        services.TryAddSingleton<PrincipalLimiter>();
        // Kestrel must wait for streams to drain; give it a little longer than the drain itself.
        services.AddOptions<HostOptions>().Configure<Microsoft.Extensions.Options.IOptions<EngineOptions>>((host, engine) =>
            host.ShutdownTimeout = engine.Value.DrainTimeout + TimeSpan.FromSeconds(5));
    }

    private static void AddCallerAuth(this IServiceCollection services)
    {
        services.AddOptions<AuthOptions>().BindConfiguration("Auth")
            .Validate(o => o.JwtSecret.Length > 0 || o.ApiKeys.Count > 0 || o.KeyStorePath.Length > 0,
                "Auth: set Auth:JwtSecret (environment variable Auth__JwtSecret), Auth:ApiKeys or Auth:KeyStorePath")
            .Validate(o => o.RevocationCheckInterval > TimeSpan.Zero && o.RevocationCheckInterval <= TimeSpan.FromHours(1),
                "Auth:RevocationCheckInterval must be more than 0 and at most 01:00:00 (default 00:00:30)")
            .Validate(o => o.ApiKeys.All(k => k.Sha256 is { Length: 64 } && k.OrganizationId > 0 && k.ProjectId > 0),
                "Auth:ApiKeys: each entry needs a 64-hex-digit Sha256, an OrganizationId and a ProjectId")
            .ValidateOnStart();
        services.TryAddSingleton<ApiKeyStore>();
        services.TryAddSingleton<CallerAuthenticator>();
        services.TryAddSingleton<AuthInterceptor>();
        services.TryAddSingleton(sp => new OpenMethods(sp.GetRequiredService<IOptions<ConnectionOptions>>().Value
            .ReflectionEnabled(sp.GetRequiredService<IHostEnvironment>())));
    }
}
