using OpenTelemetry.Trace;

namespace IntegrationApi.Telemetry;

/// <summary>Traces: off unless the standard <c>OTEL_*</c> variables ask for an exporter.</summary>
public static class TracingServiceCollectionExtensions
{
    /// <summary>
    /// Adds a tracer provider (the gateway's spans, ASP.NET Core's server spans, HttpClient's upstream spans) when the
    /// environment asks for one: <c>OTEL_TRACES_EXPORTER</c> = <c>otlp</c> and/or <c>console</c> (comma-separated), or,
    /// without it, <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> / <c>OTEL_EXPORTER_OTLP_TRACES_ENDPOINT</c> set (then OTLP). The
    /// OTLP exporter reads its endpoint, protocol and headers from the same variables. Otherwise nothing is registered:
    /// nothing listens to the gateway's <see cref="System.Diagnostics.ActivitySource"/> and no span is created.
    /// </summary>
    public static IServiceCollection AddGatewayTracing(this IServiceCollection services) =>
        services.AddGatewayTracing(Environment.GetEnvironmentVariable, null);

    /// <summary>
    /// As <see cref="AddGatewayTracing(IServiceCollection)"/>, with <paramref name="exporters"/> added to the tracer
    /// provider (tests: an in-memory exporter); giving it turns tracing on. The first call wins: later ones do nothing.
    /// </summary>
    public static IServiceCollection AddGatewayTracing(this IServiceCollection services, Action<TracerProviderBuilder> exporters) =>
        services.AddGatewayTracing(Environment.GetEnvironmentVariable, exporters);

    internal static IServiceCollection AddGatewayTracing(this IServiceCollection services, Func<string, string?> environment, Action<TracerProviderBuilder>? exporters)
    {
        if (services.Any(d => d.ServiceType == typeof(TracingRegistered))) return services;
        var (otlp, console) = Exporters(environment);
        if (!otlp && !console && exporters is null) return services;
        services.AddSingleton<TracingRegistered>();
        services.AddOpenTelemetry().WithTracing(tracing =>
        {
            tracing
                .AddSource(GatewayTracing.SourceName)
                .AddAspNetCoreInstrumentation(o => o.Filter = http => !IsOperatorEndpoint(http.Request.Path))
                .AddHttpClientInstrumentation(); // query strings are redacted by default (a Gemini key travels in one)
            if (otlp) tracing.AddOtlpExporter();
            if (console) tracing.AddConsoleExporter();
            exporters?.Invoke(tracing);
        });
        return services;
    }

    /// <summary>Which exporters the environment asks for.</summary>
    internal static (bool Otlp, bool Console) Exporters(Func<string, string?> environment)
    {
        var names = environment("OTEL_TRACES_EXPORTER");
        if (string.IsNullOrWhiteSpace(names))
        {
            var endpoint = !string.IsNullOrWhiteSpace(environment("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"))
                || !string.IsNullOrWhiteSpace(environment("OTEL_EXPORTER_OTLP_ENDPOINT"));
            return (endpoint, false);
        }
        var list = names.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        return (list.Contains("otlp", StringComparer.OrdinalIgnoreCase), list.Contains("console", StringComparer.OrdinalIgnoreCase));
    }

    /// <summary>Scrapes and probes are not traced: /metrics, /healthz, /readiness and the gRPC health service.</summary>
    private static bool IsOperatorEndpoint(PathString path) =>
        path.StartsWithSegments("/metrics") || path.StartsWithSegments("/healthz") || path.StartsWithSegments("/readiness")
        || path.StartsWithSegments("/grpc.health.v1.Health");

    private sealed class TracingRegistered;
}
