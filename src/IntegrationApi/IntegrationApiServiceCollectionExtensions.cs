using IntegrationApi.Pricing;
using IntegrationApi.Telemetry;
using IntegrationApi.Api;
using IntegrationApi.Auth;
using IntegrationApi.Metrics;
using Grpc.AspNetCore.Server;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Options;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using IntegrationApi.Providers;
using IntegrationApi.Engine;
using IntegrationApi.Scaling;
using Microsoft.Extensions.DependencyInjection.Extensions;
using IntegrationApi.OpenAICompatible;

namespace IntegrationApi;

/// <summary>The composition root: reads like the service's table of contents.</summary>
public static class IntegrationApiServiceCollectionExtensions
{
    /// <summary>Adds the engine, the providers, caller authentication and the gRPC services.</summary>
    public static IServiceCollection AddIntegrationApi(this IServiceCollection services)
    {
        services.TryAddSingleton(TimeProvider.System);
        services.AddEngine();
        services.AddScaleOut();
        services.AddProviders();
        services.AddCallerAuth();
        services.AddGatewayMetrics();
        services.AddGatewayTracing();
        services.AddPricing();
        services.AddAudit();
        services.AddConnections();
        services.AddOpenAICompatible();
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
        endpoints.MapOpenAICompatible();
        endpoints.MapGrpcHealthChecksService();
        if (endpoints.ServiceProvider.GetRequiredService<OpenMethods>().ReflectionEnabled) endpoints.MapGrpcReflectionService();
        endpoints.MapHealthChecks("/readiness");
        endpoints.MapGet("/healthz", () => Results.Ok(new { healthy = true }));
        endpoints.MapPrometheusScrapingEndpoint("/metrics");
        return endpoints;
    }

    /// <summary>
    /// The service's meter, the GenAI semantic-convention instruments, runtime, process, HttpClient, ASP.NET Core and
    /// Kestrel metrics, all exported for Prometheus at <c>/metrics</c>; and the resource every signal carries
    /// (docs/observability.md).
    /// </summary>
    private static void AddGatewayMetrics(this IServiceCollection services)
    {
        services.AddMetrics();
        services.AddValidatedOptions<MetricsOptions, MetricsOptionsValidator>("Metrics");
        services.TryAddSingleton<GatewayMetrics>();
        services.AddOpenTelemetry()
            // The standard variables (OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES) are read again last, so they win.
            .ConfigureResource(r => r.AddDetector(sp => new ServiceResource(sp.GetRequiredService<IOptions<MetricsOptions>>())).AddEnvironmentVariableDetector())
            .WithMetrics(m => m
                .AddMeter(GatewayMetrics.MeterName)
                .AddRuntimeInstrumentation()
                .AddProcessInstrumentation()
                .AddHttpClientInstrumentation()
                .AddAspNetCoreInstrumentation()
                .AddMeter("Microsoft.AspNetCore.Server.Kestrel", "System.Net.Http")
                .AddPrometheusExporter());
    }

    private static void AddAudit(this IServiceCollection services)
    {
        services.AddValidatedOptions<Audit.AuditOptions, Audit.AuditOptionsValidator>("Audit");
        services.TryAddSingleton<Audit.IAuditStore, Audit.SqlAuditStore>();
        services.TryAddSingleton<Audit.AuditWriter>();
        services.AddHostedService(sp => sp.GetRequiredService<Audit.AuditWriter>());
        services.TryAddSingleton<Audit.AuditTrail>();
    }

    private static void AddConnections(this IServiceCollection services)
    {
        services.AddValidatedOptions<ConnectionOptions, ConnectionOptionsValidator>("Server");
        services.AddOptions<KestrelServerOptions>().Configure<IOptions<ConnectionOptions>>((kestrel, o) =>
        {
            kestrel.Limits.Http2.KeepAlivePingDelay = o.Value.KeepAlivePingDelay;
            kestrel.Limits.Http2.KeepAlivePingTimeout = o.Value.KeepAlivePingTimeout;
        });
        services.AddOptions<GrpcServiceOptions>().Configure<IOptions<ConnectionOptions>>((grpc, o) => grpc.MaxReceiveMessageSize = o.Value.MaxReceiveMessageSize);
        services.AddOptions<Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets.SocketTransportOptions>().Configure<IOptions<ConnectionOptions>>((transport, o) =>
            transport.UnsafePreferInlineScheduling = o.Value.InlineIo);
    }

    private static void AddEngine(this IServiceCollection services)
    {
        services.AddValidatedOptions<EngineOptions, EngineOptionsValidator>("Engine");
        services.TryAddSingleton<RequestIdGenerator>();
        services.TryAddSingleton<ChatEngine>();
        services.TryAddSingleton<ChatRouting>();
        services.TryAddSingleton<UnaryChat>();
        services.TryAddSingleton<CallEngine>();
        services.TryAddSingleton<CallRpcServices>();
        services.TryAddSingleton<EmbeddingApi>();
        services.TryAddSingleton<RerankingApi>();
        services.TryAddSingleton<ModerationApi>();
        services.TryAddSingleton<CallRpcs>();
        services.TryAddSingleton<StreamChatSessionFactory>();
        services.TryAddSingleton<CredentialCheck>();
        // Kestrel must wait for streams to drain; give it a little longer than the drain itself.
        services.AddOptions<HostOptions>().Configure<IOptions<EngineOptions>>((host, engine) =>
            host.ShutdownTimeout = engine.Value.DrainTimeout + TimeSpan.FromSeconds(5));
    }

    /// <summary>
    /// Binds <typeparamref name="TOptions"/> to <paramref name="section"/> and checks it at start with its source-generated
    /// validator (the ranges and rules declared on the options class itself).
    /// </summary>
    internal static OptionsBuilder<TOptions> AddValidatedOptions<TOptions, TValidator>(this IServiceCollection services, string section)
        where TOptions : class
        where TValidator : class, IValidateOptions<TOptions>, new()
    {
        services.AddSingleton<IValidateOptions<TOptions>>(new SectionNamedValidator<TOptions, TValidator>(section));
        return services.AddOptionsWithValidateOnStart<TOptions>().BindConfiguration(section);
    }

    /// <summary>
    /// Runs a generated validator with the configuration section as the name it reports, so a failure reads
    /// "The field Engine.IdleTimeout must be between …" rather than "EngineOptions.IdleTimeout".
    /// </summary>
    private sealed class SectionNamedValidator<TOptions, TValidator>(string section) : IValidateOptions<TOptions>
        where TOptions : class
        where TValidator : class, IValidateOptions<TOptions>, new()
    {
        private readonly TValidator _validator = new();

        public ValidateOptionsResult Validate(string? name, TOptions options) =>
            _validator.Validate(string.IsNullOrEmpty(name) ? section : $"{section}[{name}]", options);
    }

    private static void AddCallerAuth(this IServiceCollection services)
    {
        services.AddValidatedOptions<AuthOptions, AuthOptionsValidator>("Auth");
        services.TryAddSingleton<ApiKeyStore>();
        services.TryAddSingleton<CallerAuthenticator>();
        services.TryAddSingleton<AuthInterceptor>();
        services.TryAddSingleton(sp => new OpenMethods(sp.GetRequiredService<IOptions<ConnectionOptions>>().Value
            .ReflectionEnabled(sp.GetRequiredService<IHostEnvironment>())));
    }
}
