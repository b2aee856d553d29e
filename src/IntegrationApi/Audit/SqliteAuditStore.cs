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
        query.CommandText = """
            SELECT request_id, created_at, organization_id, project_id, credential_id, provider, model, status, code, finish_reason,
                   time_taken_ns, ttft_ns, input_tokens, output_tokens, total_tokens, metadata
            FROM audit_records WHERE organization_id = $org AND project_id = $project
            ORDER BY request_id DESC LIMIT $take OFFSET $skip
            """;
        query.Parameters.AddWithValue("$org", (long)organizationId);
        query.Parameters.AddWithValue("$project", (long)projectId);
        query.Parameters.AddWithValue("$take", take);
        query.Parameters.AddWithValue("$skip", skip);
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
