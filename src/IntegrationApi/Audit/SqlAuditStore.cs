using System.Data.Common;
using System.Globalization;
using System.Text.Json;
using IntegrationApi.Storage;
using Microsoft.Extensions.Options;

namespace IntegrationApi.Audit;

/// <summary>The audit store on SQL (SQLite or PostgreSQL): versioned migrations applied at start, plain ADO.NET with parameters only.</summary>
internal sealed class SqlAuditStore : IAuditStore
{
    private static readonly IReadOnlyDictionary<AuditField, string> FilterColumns = new Dictionary<AuditField, string>
    {
        [AuditField.Provider] = "provider", [AuditField.Model] = "model", [AuditField.Status] = "status",
        [AuditField.Code] = "code", [AuditField.FinishReason] = "finish_reason", [AuditField.CredentialId] = "credential_id",
    };

    private const string SelectColumns =
        "SELECT request_id, created_at, organization_id, project_id, credential_id, provider, model, status, code, finish_reason, " +
        "time_taken_ns, ttft_ns, input_tokens, output_tokens, total_tokens, metadata, request_json, response_json, attempts, cost_usd FROM audit_records";

    private const string Columns = "(request_id, created_at, organization_id, project_id, credential_id, provider, model, status, code, finish_reason, time_taken_ns, ttft_ns, input_tokens, output_tokens, total_tokens, metadata, request_json, response_json, attempts, cost_usd)";
    private const string Values = "VALUES (@id, @at, @org, @project, @cred, @provider, @model, @status, @code, @finish, @taken, @ttft, @in, @out, @total, @meta, @req, @resp, @attempts, @cost)";

    private readonly SqlDialect _dialect;
    /// <summary>Schema versions in order: the version applied is the index plus one (<c>schema_migrations</c>).</summary>
    private readonly string[] _migrations;
    /// <summary>Inserts one record unless its request id is there (a retried or redelivered batch).</summary>
    private readonly string _insert;

    public SqlAuditStore(IOptions<AuditOptions> options, IHostEnvironment environment)
    {
        _dialect = SqlDialect.For(options.Value.PostgresOrNull, options.Value.SqlitePath, environment);
        _migrations =
        [
            Table(_dialect.BigInteger),
            "ALTER TABLE audit_records ADD COLUMN request_json TEXT; ALTER TABLE audit_records ADD COLUMN response_json TEXT;",
            // AuditAttempt JSON; NULL (the rows before it, requests refused before they ran) reads as none.
            "ALTER TABLE audit_records ADD COLUMN attempts TEXT;",
            // US dollars, exact: NUMERIC on PostgreSQL, the decimal's invariant text on SQLite (which has no decimal type).
            // NULL (the rows before it, unpriced answers, failures) reads as no cost.
            $"ALTER TABLE audit_records ADD COLUMN cost_usd {(_dialect.IsPostgres ? "NUMERIC" : "TEXT")};",
        ];
        _insert = _dialect.InsertUnlessPresent("audit_records", $"{Columns} {Values}", "request_id");
    }

    private static string Table(string integer) => $"""
        CREATE TABLE audit_records (
            request_id {integer} PRIMARY KEY, created_at TEXT NOT NULL, organization_id {integer} NOT NULL, project_id {integer} NOT NULL,
            credential_id {integer} NOT NULL, provider TEXT NOT NULL, model TEXT NOT NULL, status TEXT NOT NULL, code INTEGER NOT NULL,
            finish_reason TEXT NOT NULL, time_taken_ns {integer} NOT NULL, ttft_ns {integer}, input_tokens {integer}, output_tokens {integer},
            total_tokens {integer}, metadata TEXT NOT NULL);
        CREATE INDEX audit_records_scope ON audit_records (organization_id, project_id, request_id DESC);
        """;

    public Task MigrateAsync(CancellationToken cancellationToken) => MigrateAsync(_migrations.Length, cancellationToken);

    /// <summary>Applies the migrations up to schema <paramref name="version"/> (tests build an older schema with it).</summary>
    internal async Task MigrateAsync(int version, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        // Several instances starting at once: one migrates, the others wait and then find nothing left to do.
        if (_dialect.SchemaLock is { } schemaLock) await ExecuteAsync(connection, schemaLock.Take, null, cancellationToken).ConfigureAwait(false);
        try { await MigrateLockedAsync(connection, version, cancellationToken).ConfigureAwait(false); }
        finally
        {
            // Closing the connection releases a session lock anyway: a failing release must not hide the migration's error.
            if (_dialect.SchemaLock is { } held)
                try { await ExecuteAsync(connection, held.Release, null, CancellationToken.None).ConfigureAwait(false); }
                catch (DbException) { }
        }
    }

    private async Task MigrateLockedAsync(DbConnection connection, int version, CancellationToken cancellationToken)
    {
        if (_dialect.CreateSchema is { } createSchema) await ExecuteAsync(connection, createSchema, null, cancellationToken).ConfigureAwait(false);
        await ExecuteAsync(connection, "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)", null, cancellationToken).ConfigureAwait(false);
        await using var read = connection.CreateCommand();
        read.CommandText = "SELECT COALESCE(MAX(version), 0) FROM schema_migrations";
        var applied = Convert.ToInt32(await read.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false), CultureInfo.InvariantCulture);
        for (var next = applied + 1; next <= Math.Min(version, _migrations.Length); next++)
        {
            await using var tx = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
            await ExecuteAsync(connection, _migrations[next - 1], tx, cancellationToken).ConfigureAwait(false);
            await using var mark = Command(connection, tx, "INSERT INTO schema_migrations (version, applied_at) VALUES (@v, @t)",
                ("@v", next), ("@t", DateTimeOffset.UtcNow.ToString("O", CultureInfo.InvariantCulture)));
            await mark.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            await tx.CommitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    public async Task WriteAsync(IReadOnlyList<AuditRecord> records, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var tx = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        // One command for the whole batch (SQLite compiles it once); only the values change per record.
        await using var insert = Command(connection, tx, _insert,
            ("@id", null), ("@at", null), ("@org", null), ("@project", null), ("@cred", null), ("@provider", null), ("@model", null),
            ("@status", null), ("@code", null), ("@finish", null), ("@taken", null), ("@ttft", null),
            ("@in", null), ("@out", null), ("@total", null), ("@meta", null), ("@req", null), ("@resp", null), ("@attempts", null), ("@cost", null));
        foreach (var r in records)
        {
            object?[] values =
            [
                (long)r.RequestId, r.CreatedAt.ToString("O", CultureInfo.InvariantCulture), (long)r.OrganizationId,
                (long)r.ProjectId, (long)r.CredentialId, r.Provider, r.Model,
                r.Status, r.Code, r.FinishReason, r.TimeTakenNs, r.TimeToFirstTokenNs,
                r.InputTokens, r.OutputTokens, r.TotalTokens, JsonSerializer.Serialize(r.Metadata),
                r.RequestJson, r.ResponseJson, r.Attempts.Count == 0 ? null : AuditAttempt.ToJson(r.Attempts),
                r.CostUsd is { } cost ? (_dialect.IsPostgres ? cost : cost.ToString(CultureInfo.InvariantCulture)) : null,
            ];
            for (var i = 0; i < values.Length; i++) insert.Parameters[i].Value = values[i] ?? DBNull.Value;
            await insert.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
        await tx.CommitAsync(cancellationToken).ConfigureAwait(false);
    }

    public async Task<IReadOnlyList<AuditRecord>> ListAsync(ulong organizationId, ulong projectId, int skip, int take, CancellationToken cancellationToken) =>
        (await QueryAsync(new AuditQuery(organizationId, projectId, new Dictionary<AuditField, string>(), skip, take), cancellationToken).ConfigureAwait(false)).Records;

    public async Task<long> CountAsync(ulong organizationId, ulong projectId, CancellationToken cancellationToken) =>
        (await QueryAsync(new AuditQuery(organizationId, projectId, new Dictionary<AuditField, string>(), 0, 0), cancellationToken).ConfigureAwait(false)).Total;

    public async Task<(IReadOnlyList<AuditRecord> Records, long Total)> QueryAsync(AuditQuery query, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        var where = "WHERE organization_id = @org AND project_id = @project";
        var parameters = new List<(string, object?)> { ("@org", (long)query.OrganizationId), ("@project", (long)query.ProjectId) };
        foreach (var (field, value) in query.Filters)
        {
            var name = "@f" + parameters.Count.ToString(CultureInfo.InvariantCulture);
            where += $" AND {FilterColumns[field]} = {name}";
            object typed = field switch
            {
                AuditField.Code => int.TryParse(value, CultureInfo.InvariantCulture, out var code) ? code : -1,
                AuditField.CredentialId => long.TryParse(value, CultureInfo.InvariantCulture, out var id) ? id : -1L,
                _ => value,
            };
            parameters.Add((name, typed));
        }
        await using var count = Command(connection, null, $"SELECT COUNT(*) FROM audit_records {where}", [.. parameters]);
        var total = Convert.ToInt64(await count.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false), CultureInfo.InvariantCulture);
        if (query.Take <= 0 || query.Skip >= total) return ([], total);
        parameters.Add(("@take", query.Take));
        parameters.Add(("@skip", query.Skip));
        await using var select = Command(connection, null, $"{SelectColumns} {where} ORDER BY request_id DESC LIMIT @take OFFSET @skip", [.. parameters]);
        return (await ReadAsync(select, cancellationToken).ConfigureAwait(false), total);
    }

    public async Task<AuditRecord?> GetAsync(ulong organizationId, ulong projectId, ulong requestId, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        return await GetAsync(connection, null, organizationId, projectId, requestId, cancellationToken).ConfigureAwait(false);
    }

    public async Task<(MetadataMerge Outcome, AuditRecord? Record)> MergeMetadataAsync(ulong organizationId, ulong projectId, ulong requestId,
        IReadOnlyDictionary<string, string> metadata, int maxKeys, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        // SQLite's transaction is BEGIN IMMEDIATE and PostgreSQL's read locks the row: two merges never lose each other's keys.
        await using var tx = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        var record = await GetAsync(connection, tx, organizationId, projectId, requestId, cancellationToken, _dialect.IsPostgres ? " FOR UPDATE" : "").ConfigureAwait(false);
        if (record is null) return (MetadataMerge.NotFound, null);
        var merged = new Dictionary<string, string>(record.Metadata);
        foreach (var (k, v) in metadata) merged[k] = v;
        // The attempts entry the audit-log RPCs add counts too: a caller never sees more than maxKeys.
        if (merged.Count + (record.Attempts.Count > 0 && !merged.ContainsKey(AuditRecord.AttemptsKey) ? 1 : 0) > maxKeys)
            return (MetadataMerge.TooManyKeys, record);
        await using var update = Command(connection, tx, "UPDATE audit_records SET metadata = @meta WHERE request_id = @id",
            ("@meta", JsonSerializer.Serialize(merged)), ("@id", (long)requestId));
        await update.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        await tx.CommitAsync(cancellationToken).ConfigureAwait(false);
        return (MetadataMerge.Merged, record with { Metadata = merged });
    }

    private static async Task<AuditRecord?> GetAsync(DbConnection connection, DbTransaction? tx, ulong organizationId, ulong projectId, ulong requestId,
        CancellationToken cancellationToken, string lockClause = "")
    {
        await using var select = Command(connection, tx, $"{SelectColumns} WHERE request_id = @id AND organization_id = @org AND project_id = @project{lockClause}",
            ("@id", (long)requestId), ("@org", (long)organizationId), ("@project", (long)projectId));
        return (await ReadAsync(select, cancellationToken).ConfigureAwait(false)).FirstOrDefault();
    }

    private static async Task<List<AuditRecord>> ReadAsync(DbCommand query, CancellationToken cancellationToken)
    {
        var list = new List<AuditRecord>();
        await using var reader = await query.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            long? Nullable(int i) => reader.IsDBNull(i) ? null : reader.GetInt64(i);
            list.Add(new AuditRecord
            {
                RequestId = (ulong)reader.GetInt64(0),
                CreatedAt = DateTimeOffset.Parse(reader.GetString(1), CultureInfo.InvariantCulture),
                OrganizationId = (ulong)reader.GetInt64(2),
                ProjectId = (ulong)reader.GetInt64(3),
                CredentialId = (ulong)reader.GetInt64(4),
                Provider = reader.GetString(5),
                Model = reader.GetString(6),
                Status = reader.GetString(7),
                Code = reader.GetInt32(8),
                FinishReason = reader.GetString(9),
                TimeTakenNs = reader.GetInt64(10),
                TimeToFirstTokenNs = Nullable(11),
                InputTokens = Nullable(12),
                OutputTokens = Nullable(13),
                TotalTokens = Nullable(14),
                Metadata = JsonSerializer.Deserialize<Dictionary<string, string>>(reader.GetString(15)) ?? [],
                RequestJson = reader.IsDBNull(16) ? null : reader.GetString(16),
                ResponseJson = reader.IsDBNull(17) ? null : reader.GetString(17),
                Attempts = AuditAttempt.FromJson(reader.IsDBNull(18) ? null : reader.GetString(18)),
                CostUsd = reader.IsDBNull(19) ? null : Convert.ToDecimal(reader.GetValue(19), CultureInfo.InvariantCulture),
            });
        }
        return list;
    }

    private async Task<DbConnection> OpenAsync(CancellationToken cancellationToken)
    {
        var connection = _dialect.Connect();
        try
        {
            await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
            if (_dialect.OnOpen is { } pragma) await ExecuteAsync(connection, pragma, null, cancellationToken).ConfigureAwait(false);
            return connection;
        }
        catch
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    private static DbCommand Command(DbConnection connection, DbTransaction? tx, string sql, params (string Name, object? Value)[] parameters)
    {
        var command = connection.CreateCommand();
        command.Transaction = tx;
        command.CommandText = sql;
        foreach (var (name, value) in parameters)
        {
            var p = command.CreateParameter();
            p.ParameterName = name;
            p.Value = value ?? DBNull.Value;
            command.Parameters.Add(p);
        }
        return command;
    }

    private static async Task ExecuteAsync(DbConnection connection, string sql, DbTransaction? tx, CancellationToken cancellationToken)
    {
        await using var command = Command(connection, tx, sql);
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }
}
