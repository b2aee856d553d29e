using System.Globalization;
using System.Text.Json;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Options;

namespace IntegrationApi.Audit;

/// <summary>The embedded store: one SQLite file, versioned migrations applied at start, WAL for concurrent readers.</summary>
internal sealed class SqliteAuditStore : IAuditStore
{
    private static readonly string[] Migrations =
    [
        """
        CREATE TABLE audit_records (
            request_id INTEGER PRIMARY KEY,
            created_at TEXT NOT NULL,
            organization_id INTEGER NOT NULL,
            project_id INTEGER NOT NULL,
            credential_id INTEGER NOT NULL,
            provider TEXT NOT NULL,
            model TEXT NOT NULL,
            status TEXT NOT NULL,
            code INTEGER NOT NULL,
            finish_reason TEXT NOT NULL,
            time_taken_ns INTEGER NOT NULL,
            ttft_ns INTEGER,
            input_tokens INTEGER,
            output_tokens INTEGER,
            total_tokens INTEGER,
            metadata TEXT NOT NULL
        );
        CREATE INDEX audit_records_scope ON audit_records (organization_id, project_id, request_id DESC);
        """,
    ];

    private readonly string _connectionString;

    public SqliteAuditStore(IOptions<AuditOptions> options, IHostEnvironment environment)
    {
        var path = Path.IsPathRooted(options.Value.SqlitePath) ? options.Value.SqlitePath : Path.Combine(environment.ContentRootPath, options.Value.SqlitePath);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        _connectionString = new SqliteConnectionStringBuilder { DataSource = path, Pooling = true }.ToString();
    }

    public async Task MigrateAsync(CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await ExecuteAsync(connection, "PRAGMA journal_mode=WAL; CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL);", cancellationToken).ConfigureAwait(false);
        await using var read = connection.CreateCommand();
        read.CommandText = "SELECT COALESCE(MAX(version), 0) FROM schema_migrations";
        var applied = Convert.ToInt32(await read.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false), CultureInfo.InvariantCulture);
        for (var version = applied + 1; version <= Migrations.Length; version++)
        {
            await using var tx = (SqliteTransaction)await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
            await ExecuteAsync(connection, Migrations[version - 1], cancellationToken, tx).ConfigureAwait(false);
            await using var mark = connection.CreateCommand();
            mark.Transaction = tx;
            mark.CommandText = "INSERT INTO schema_migrations (version, applied_at) VALUES ($v, $t)";
            mark.Parameters.AddWithValue("$v", version);
            mark.Parameters.AddWithValue("$t", DateTimeOffset.UtcNow.ToString("O", CultureInfo.InvariantCulture));
            await mark.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            await tx.CommitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    public async Task WriteAsync(IReadOnlyList<AuditRecord> records, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var tx = (SqliteTransaction)await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        await using var insert = connection.CreateCommand();
        insert.Transaction = tx;
        insert.CommandText = """
            INSERT OR IGNORE INTO audit_records (request_id, created_at, organization_id, project_id, credential_id, provider, model, status,
                code, finish_reason, time_taken_ns, ttft_ns, input_tokens, output_tokens, total_tokens, metadata)
            VALUES ($id, $at, $org, $project, $cred, $provider, $model, $status, $code, $finish, $taken, $ttft, $in, $out, $total, $meta)
            """;
        string[] names = ["$id", "$at", "$org", "$project", "$cred", "$provider", "$model", "$status", "$code", "$finish", "$taken", "$ttft", "$in", "$out", "$total", "$meta"];
        var parameters = names.Select(n => insert.Parameters.Add(n, SqliteType.Text)).ToArray();
        foreach (var r in records)
        {
            object?[] values =
            [
                (long)r.RequestId, r.CreatedAt.ToString("O", CultureInfo.InvariantCulture), (long)r.OrganizationId, (long)r.ProjectId, (long)r.CredentialId,
                r.Provider, r.Model, r.Status, r.Code, r.FinishReason, r.TimeTakenNs, r.TimeToFirstTokenNs, r.InputTokens, r.OutputTokens, r.TotalTokens,
                JsonSerializer.Serialize(r.Metadata),
            ];
            for (var i = 0; i < values.Length; i++) parameters[i].Value = values[i] ?? DBNull.Value;
            await insert.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
        await tx.CommitAsync(cancellationToken).ConfigureAwait(false);
    }

    public async Task<IReadOnlyList<AuditRecord>> ListAsync(ulong organizationId, ulong projectId, int skip, int take, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var query = connection.CreateCommand();
        query.CommandText = $"{SelectColumns} WHERE organization_id = $org AND project_id = $project ORDER BY request_id DESC LIMIT $take OFFSET $skip";
        query.Parameters.AddWithValue("$org", (long)organizationId);
        query.Parameters.AddWithValue("$project", (long)projectId);
        query.Parameters.AddWithValue("$take", take);
        query.Parameters.AddWithValue("$skip", skip);
        return await ReadAsync(query, cancellationToken).ConfigureAwait(false);
    }

    private static async Task<List<AuditRecord>> ReadAsync(SqliteCommand query, CancellationToken cancellationToken)
    {
        var list = new List<AuditRecord>();
        await using var reader = await query.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
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
                TimeToFirstTokenNs = reader.IsDBNull(11) ? null : reader.GetInt64(11),
                InputTokens = reader.IsDBNull(12) ? null : reader.GetInt64(12),
                OutputTokens = reader.IsDBNull(13) ? null : reader.GetInt64(13),
                TotalTokens = reader.IsDBNull(14) ? null : reader.GetInt64(14),
                Metadata = JsonSerializer.Deserialize<Dictionary<string, string>>(reader.GetString(15)) ?? [],
            });
        }
        return list;
    }

    public async Task<long> CountAsync(ulong organizationId, ulong projectId, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var query = connection.CreateCommand();
        query.CommandText = "SELECT COUNT(*) FROM audit_records WHERE organization_id = $org AND project_id = $project";
        query.Parameters.AddWithValue("$org", (long)organizationId);
        query.Parameters.AddWithValue("$project", (long)projectId);
        return Convert.ToInt64(await query.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false), CultureInfo.InvariantCulture);
    }

    private static readonly IReadOnlyDictionary<AuditField, string> Columns = new Dictionary<AuditField, string>
    {
        [AuditField.Provider] = "provider", [AuditField.Model] = "model", [AuditField.Status] = "status",
        [AuditField.Code] = "code", [AuditField.FinishReason] = "finish_reason", [AuditField.CredentialId] = "credential_id",
    };

    private const string SelectColumns =
        "SELECT request_id, created_at, organization_id, project_id, credential_id, provider, model, status, code, finish_reason, " +
        "time_taken_ns, ttft_ns, input_tokens, output_tokens, total_tokens, metadata FROM audit_records";

    public async Task<(IReadOnlyList<AuditRecord> Records, long Total)> QueryAsync(AuditQuery query, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        var where = "WHERE organization_id = $org AND project_id = $project";
        var n = 0;
        foreach (var field in query.Filters.Keys) where += $" AND {Columns[field]} = $f{n++}";
        void Bind(SqliteCommand command)
        {
            command.Parameters.AddWithValue("$org", (long)query.OrganizationId);
            command.Parameters.AddWithValue("$project", (long)query.ProjectId);
            var i = 0;
            foreach (var (field, value) in query.Filters)
                command.Parameters.AddWithValue($"$f{i++}", field is AuditField.Code or AuditField.CredentialId && long.TryParse(value, CultureInfo.InvariantCulture, out var number) ? number : value);
        }
        await using var count = connection.CreateCommand();
        count.CommandText = $"SELECT COUNT(*) FROM audit_records {where}";
        Bind(count);
        var total = Convert.ToInt64(await count.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false), CultureInfo.InvariantCulture);
        await using var select = connection.CreateCommand();
        select.CommandText = $"{SelectColumns} {where} ORDER BY request_id DESC LIMIT $take OFFSET $skip";
        Bind(select);
        select.Parameters.AddWithValue("$take", query.Take);
        select.Parameters.AddWithValue("$skip", query.Skip);
        return (await ReadAsync(select, cancellationToken).ConfigureAwait(false), total);
    }

    public async Task<AuditRecord?> GetAsync(ulong organizationId, ulong projectId, ulong requestId, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        return await GetAsync(connection, organizationId, projectId, requestId, null, cancellationToken).ConfigureAwait(false);
    }

    public async Task<AuditRecord?> MergeMetadataAsync(ulong organizationId, ulong projectId, ulong requestId, IReadOnlyDictionary<string, string> metadata, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var tx = (SqliteTransaction)await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        var record = await GetAsync(connection, organizationId, projectId, requestId, tx, cancellationToken).ConfigureAwait(false);
        if (record is null) return null;
        var merged = new Dictionary<string, string>(record.Metadata);
        foreach (var (k, v) in metadata) merged[k] = v;
        await using var update = connection.CreateCommand();
        update.Transaction = tx;
        update.CommandText = "UPDATE audit_records SET metadata = $meta WHERE request_id = $id";
        update.Parameters.AddWithValue("$meta", JsonSerializer.Serialize(merged));
        update.Parameters.AddWithValue("$id", (long)requestId);
        await update.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        await tx.CommitAsync(cancellationToken).ConfigureAwait(false);
        return record with { Metadata = merged };
    }

    private static async Task<AuditRecord?> GetAsync(SqliteConnection connection, ulong organizationId, ulong projectId, ulong requestId,
        SqliteTransaction? tx, CancellationToken cancellationToken)
    {
        await using var select = connection.CreateCommand();
        select.Transaction = tx;
        select.CommandText = $"{SelectColumns} WHERE request_id = $id AND organization_id = $org AND project_id = $project";
        select.Parameters.AddWithValue("$id", (long)requestId);
        select.Parameters.AddWithValue("$org", (long)organizationId);
        select.Parameters.AddWithValue("$project", (long)projectId);
        return (await ReadAsync(select, cancellationToken).ConfigureAwait(false)).FirstOrDefault();
    }

    private async Task<SqliteConnection> OpenAsync(CancellationToken cancellationToken)
    {
        var connection = new SqliteConnection(_connectionString);
        await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
        return connection;
    }

    private static async Task ExecuteAsync(SqliteConnection connection, string sql, CancellationToken cancellationToken, SqliteTransaction? tx = null)
    {
        await using var command = connection.CreateCommand();
        command.Transaction = tx;
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }
}
