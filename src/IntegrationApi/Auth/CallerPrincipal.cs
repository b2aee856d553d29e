namespace IntegrationApi.Auth;

/// <summary>Who is calling: an organization and project (and a user for service tokens).</summary>
public sealed record CallerPrincipal(ulong OrganizationId, ulong ProjectId, ulong? UserId, DateTimeOffset? ExpiresAt, string Scheme)
{
    /// <summary>The SHA-256 of the stored (revocable) project key this principal came from; null for tokens and configured keys.</summary>
    public string? StoredKeyHash { get; init; }

    /// <summary>True once a token-based principal has passed its <c>exp</c>.</summary>
    public bool IsExpired(DateTimeOffset now) => ExpiresAt is { } exp && now >= exp;
}
