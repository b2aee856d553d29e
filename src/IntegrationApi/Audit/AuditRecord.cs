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
    /// <summary>What the answer cost in US dollars at the configured prices; null when not priced (and for rows from before the column).</summary>
    public decimal? CostUsd { get; init; }
    /// <summary><c>additionalData</c> plus the enrichment of the original (provider_name, model_name, model_id, source, env, region).</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; init; } = new Dictionary<string, string>();
    /// <summary>The request as JSON, credential values redacted; only with <c>Audit:IncludePayloads</c>.</summary>
    public string? RequestJson { get; init; }
    /// <summary>The terminal response as JSON; only with <c>Audit:IncludePayloads</c>.</summary>
    public string? ResponseJson { get; init; }

    /// <summary>
    /// Every target the request ran on, in the engine's order (<c>ChatOutcome.Targets</c>); none for a request refused
    /// before it ran, nor for a record written before attempts were kept (a spooled one without the field included).
    /// </summary>
    public IReadOnlyList<AuditAttempt> Attempts { get => _attempts; init => _attempts = value ?? []; }
    private readonly IReadOnlyList<AuditAttempt> _attempts = [];

    /// <summary>The metadata key the audit-log RPCs show <see cref="Attempts"/> under (JSON); the service's own, like <c>provider_name</c>.</summary>
    public const string AttemptsKey = "attempts";
}
