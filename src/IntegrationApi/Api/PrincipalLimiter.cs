using System.Threading.RateLimiting;
using IntegrationApi.Auth;
using IntegrationApi.Engine;
using Microsoft.Extensions.Options;

namespace IntegrationApi.Api;

/// <summary>Concurrent requests per principal (organization + project), over all of its streams and unary calls.</summary>
public sealed class PrincipalLimiter : IDisposable
{
    private readonly PartitionedRateLimiter<CallerPrincipal>? _limiter;

    public PrincipalLimiter(IOptions<EngineOptions> options)
    {
        var limit = options.Value.MaxConcurrentRequestsPerPrincipal;
        if (limit > 0)
            _limiter = PartitionedRateLimiter.Create<CallerPrincipal, (ulong, ulong)>(p => RateLimitPartition.GetConcurrencyLimiter(
                (p.OrganizationId, p.ProjectId), _ => new ConcurrencyLimiterOptions { PermitLimit = limit, QueueLimit = 0 }));
    }

    /// <summary>A lease to run one request, or null when the principal is at its limit. Dispose it when the request ends.</summary>
    public IDisposable? TryAcquire(CallerPrincipal principal)
    {
        if (_limiter is null) return NoLease.Instance;
        var lease = _limiter.AttemptAcquire(principal);
        if (lease.IsAcquired) return lease;
        lease.Dispose();
        return null;
    }

    public void Dispose() => _limiter?.Dispose();

    private sealed class NoLease : IDisposable
    {
        public static readonly NoLease Instance = new();
        public void Dispose() { }
    }
}
