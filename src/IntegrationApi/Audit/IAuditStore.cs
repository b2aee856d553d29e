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
}
