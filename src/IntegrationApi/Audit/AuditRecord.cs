namespace IntegrationApi.Audit;

/// <summary>What one chat request cost and did; written once per request, accepted or refused.</summary>
public sealed record AuditRecord
{
    public required ulong RequestId { get; init; }
    public required DateTimeOffset CreatedAt { get; init; }
    public required ulong OrganizationId { get; init; }
    public required ulong ProjectId { get; init; }
    public ulong CredentialId { get; init; }
    public required string Provider { get; init; }
    public string Model { get; init; } = "";
    /// <summary><c>SUCCESS</c> or <c>FAILED</c>.</summary>
    public required string Status { get; init; }
    public required int Code { get; init; }
    public string FinishReason { get; init; } = "";
    public long TimeTakenNs { get; init; }
    public long? TimeToFirstTokenNs { get; init; }
    public long? InputTokens { get; init; }
    public long? OutputTokens { get; init; }
    public long? TotalTokens { get; init; }
    /// <summary><c>additionalData</c> plus the enrichment of the original (provider_name, model_name, model_id, source, env, region).</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; init; } = new Dictionary<string, string>();
    /// <summary>The request as JSON, credential values redacted; only with <c>Audit:IncludePayloads</c>.</summary>
    public string? RequestJson { get; init; }
    /// <summary>The terminal response as JSON; only with <c>Audit:IncludePayloads</c>.</summary>
    public string? ResponseJson { get; init; }
}
