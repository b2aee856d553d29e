namespace IntegrationApi.Audit;

/// <summary>Where audit records live: SQLite by default.</summary>
public interface IAuditStore
{
    /// <summary>Applies the schema migrations not yet applied.</summary>
    Task MigrateAsync(CancellationToken cancellationToken);

    /// <summary>Writes <paramref name="records"/> in one transaction; a record already stored (same request id) is left as is.</summary>
    Task WriteAsync(IReadOnlyList<AuditRecord> records, CancellationToken cancellationToken);

    /// <summary>The records of one organization and project, newest first.</summary>
    Task<IReadOnlyList<AuditRecord>> ListAsync(ulong organizationId, ulong projectId, int skip, int take, CancellationToken cancellationToken);

    /// <summary>How many records one organization and project has.</summary>
    Task<long> CountAsync(ulong organizationId, ulong projectId, CancellationToken cancellationToken);

    /// <summary>One page of a project's records matching every filter, newest first, and how many match in all.</summary>
    Task<(IReadOnlyList<AuditRecord> Records, long Total)> QueryAsync(AuditQuery query, CancellationToken cancellationToken);

    /// <summary>One record of a project, or null.</summary>
    Task<AuditRecord?> GetAsync(ulong organizationId, ulong projectId, ulong requestId, CancellationToken cancellationToken);

    /// <summary>
    /// Adds or replaces metadata keys of one record of a project, unless the record would then hold more than
    /// <paramref name="maxKeys"/> keys (checked and written in one transaction); the outcome and the record after.
    /// </summary>
    Task<(MetadataMerge Outcome, AuditRecord? Record)> MergeMetadataAsync(ulong organizationId, ulong projectId, ulong requestId,
        IReadOnlyDictionary<string, string> metadata, int maxKeys, CancellationToken cancellationToken);
}

/// <summary>What <see cref="IAuditStore.MergeMetadataAsync"/> did.</summary>
public enum MetadataMerge { Merged, NotFound, TooManyKeys }

/// <summary>The fields a caller may filter audit records on (never raw SQL from the caller).</summary>
public enum AuditField { Provider, Model, Status, Code, FinishReason, CredentialId }

/// <summary>A page of one project's records with equality filters.</summary>
public sealed record AuditQuery(ulong OrganizationId, ulong ProjectId, IReadOnlyDictionary<AuditField, string> Filters, long Skip, int Take);
