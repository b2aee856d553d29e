using System.Reflection;
using Microsoft.Extensions.Options;
using OpenTelemetry.Resources;

namespace IntegrationApi.Metrics;

/// <summary>
/// The resource every signal carries: <c>service.name</c> <c>integration-api</c>, <c>service.version</c> (the assembly's
/// informational version), <c>service.instance.id</c> (<see cref="MetricsOptions.InstanceId"/>, else host name and
/// process id). The standard variables (<c>OTEL_SERVICE_NAME</c>, <c>OTEL_RESOURCE_ATTRIBUTES</c>) are applied after it
/// and win.
/// </summary>
internal sealed class ServiceResource(IOptions<MetricsOptions> options) : IResourceDetector
{
    public const string ServiceName = "integration-api";

    public static string Version { get; } =
        typeof(ServiceResource).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion
        ?? typeof(ServiceResource).Assembly.GetName().Version?.ToString() ?? "0.0.0";

    public Resource Detect() => new(new Dictionary<string, object>
    {
        ["service.name"] = ServiceName,
        ["service.version"] = Version,
        ["service.instance.id"] = options.Value.InstanceId is { Length: > 0 } id ? id : $"{Environment.MachineName}:{Environment.ProcessId}",
    });
}
