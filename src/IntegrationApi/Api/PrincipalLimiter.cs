using System.Threading.RateLimiting;
using IntegrationApi.Auth;
using IntegrationApi.Engine;
using Microsoft.Extensions.Options;

namespace IntegrationApi.Api;

/// <summary>
/// The per-principal (organization + project) limits, over all of its streams and unary calls: requests running at once
/// (<see cref="EngineOptions.MaxConcurrentRequestsPerPrincipal"/>) and requests started per second
/// (<see cref="EngineOptions.RequestsPerSecondPerPrincipal"/>). In-process by default; shared by every instance through
/// Redis when <c>Redis:Configuration</c> is set (docs/scaling.md).
/// </summary>
public interface IPrincipalLimiter
{
    /// <summary>A lease to run one request, or the refusal (429, or 503 when the shared store is down and set to refuse). Dispose it when the request ends.</summary>
    ValueTask<PrincipalLease> AcquireAsync(CallerPrincipal principal, CancellationToken cancellationToken);
}

/// <summary>The answer of <see cref="IPrincipalLimiter.AcquireAsync"/>: a held lease, or why there is none.</summary>
public readonly struct PrincipalLease(IDisposable? lease, ChatError? refusal) : IDisposable, IAsyncDisposable
{
    /// <summary>Why the request may not run; null when the lease is held.</summary>
    public ChatError? Refusal { get; } = refusal;

    public static PrincipalLease Refused(ChatError why) => new(null, why);

    public void Dispose() => lease?.Dispose();

    /// <summary>Releases the lease and, for a shared store, waits until the store has it back (so a request whose answer the caller has seen no longer counts).</summary>
    public ValueTask DisposeAsync()
    {
        if (lease is IAsyncDisposable shared) return shared.DisposeAsync();
        lease?.Dispose();
        return ValueTask.CompletedTask;
    }
}

/// <summary>The limits of one instance: every principal's requests on this process only.</summary>
public sealed class PrincipalLimiter : IPrincipalLimiter, IDisposable
{
    private readonly PartitionedRateLimiter<CallerPrincipal>? _concurrency;
    private readonly PartitionedRateLimiter<CallerPrincipal>? _rate;
    private readonly EngineOptions _options;

    public PrincipalLimiter(IOptions<EngineOptions> options)
    {
        _options = options.Value;
        var limit = _options.MaxConcurrentRequestsPerPrincipal;
        if (limit > 0)
            _concurrency = PartitionedRateLimiter.Create<CallerPrincipal, (ulong, ulong)>(p => RateLimitPartition.GetConcurrencyLimiter(
                (p.OrganizationId, p.ProjectId), _ => new ConcurrencyLimiterOptions { PermitLimit = limit, QueueLimit = 0 }));
        var perSecond = _options.RequestsPerSecondPerPrincipal;
        if (perSecond > 0)
            _rate = PartitionedRateLimiter.Create<CallerPrincipal, (ulong, ulong)>(p => RateLimitPartition.GetFixedWindowLimiter(
                (p.OrganizationId, p.ProjectId), _ => new FixedWindowRateLimiterOptions { PermitLimit = perSecond, Window = TimeSpan.FromSeconds(1), QueueLimit = 0 }));
    }

    /// <summary>The refusal when the project has too many requests running.</summary>
    public static ChatError TooManyRunning(EngineOptions options) =>
        ChatErrors.RateLimited($"more than {options.MaxConcurrentRequestsPerPrincipal} requests running for this project");

    /// <summary>The refusal when the project started too many requests this second.</summary>
    public static ChatError TooManyPerSecond(EngineOptions options) =>
        ChatErrors.RateLimited($"more than {options.RequestsPerSecondPerPrincipal} requests per second for this project");

    public ValueTask<PrincipalLease> AcquireAsync(CallerPrincipal principal, CancellationToken cancellationToken) => new(TryAcquire(principal));

    /// <summary>Synchronous <see cref="AcquireAsync"/>.</summary>
    public PrincipalLease TryAcquire(CallerPrincipal principal)
    {
        if (_rate is not null)
        {
            using var token = _rate.AttemptAcquire(principal);
            if (!token.IsAcquired) return PrincipalLease.Refused(TooManyPerSecond(_options));
        }
        if (_concurrency is null) return new(null, null);
        var lease = _concurrency.AttemptAcquire(principal);
        if (lease.IsAcquired) return new(lease, null);
        lease.Dispose();
        return PrincipalLease.Refused(TooManyRunning(_options));
    }

    public void Dispose()
    {
        _concurrency?.Dispose();
        _rate?.Dispose();
    }
}
