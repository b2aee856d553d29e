namespace IntegrationApi.Auth;

/// <summary>Who is calling: an organization and project (and a user for service tokens).</summary>
public sealed record CallerPrincipal(ulong OrganizationId, ulong ProjectId, ulong? UserId, DateTimeOffset? ExpiresAt, string Scheme)
{
    /// <summary>True once a token-based principal has passed its <c>exp</c>.</summary>
    public bool IsExpired(DateTimeOffset now) => ExpiresAt is { } exp && now >= exp;
}
