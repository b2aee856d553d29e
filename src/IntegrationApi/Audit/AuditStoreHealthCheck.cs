using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;

namespace IntegrationApi.Audit;

/// <summary>Readiness: the audit store answers a query.</summary>
internal sealed class AuditStoreHealthCheck(IAuditStore store, IOptions<AuditOptions> options) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        if (!options.Value.Enabled) return HealthCheckResult.Healthy("audit disabled");
        try
        {
            await store.CountAsync(0, 0, cancellationToken).ConfigureAwait(false);
            return HealthCheckResult.Healthy();
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            return HealthCheckResult.Unhealthy("the audit store does not answer", ex);
        }
    }
}
