using System.Globalization;
using System.Text.Json;
using Microsoft.Data.Sqlite;

namespace IntegrationApi.Audit;

/// <summary>
/// Audit records the store could not take, kept in a local SQLite file until it can: appended in one transaction
/// per batch, read back oldest first, and removed only after the store committed them. Keyed by request id, so a
/// record spooled twice is kept once; the stores insert unless present, so one delivered twice is stored once.
/// One user at a time (the audit writer); the file is opened per call and created on the first append.
/// </summary>
internal sealed class AuditSpool(string path)
{
    private const string Schema = """
        PRAGMA auto_vacuum = FULL;
        CREATE TABLE IF NOT EXISTS audit_spool (request_id INTEGER PRIMARY KEY, spooled_at TEXT NOT NULL, record TEXT NOT NULL);
        """;

    private readonly string _connectionString = new SqliteConnectionStringBuilder { DataSource = path, Pooling = false }.ToString();
    private bool _created;

    /// <summary>The spool file.</summary>
    public string Path { get; } = path;

    /// <summary>Records waiting, as far as this instance knows (<see cref="Count"/> reads the file).</summary>
    public long Pending { get; private set; }

    /// <summary>Reads how many records the file holds (none when it does not exist) into <see cref="Pending"/>.</summary>
    public long Count()
    {
        if (!File.Exists(Path)) return Pending = 0;
        using var connection = Open();
        using var count = Command(connection, null, "SELECT COUNT(*) FROM audit_spool");
        return Pending = Convert.ToInt64(count.ExecuteScalar(), CultureInfo.InvariantCulture);
    }

    /// <summary>Keeps <paramref name="records"/> durably (one committed transaction); a request id already spooled is left as is.</summary>
    public void Append(IReadOnlyList<AuditRecord> records)
    {
        using var connection = Open();
        using var tx = connection.BeginTransaction();
        using var insert = Command(connection, tx, "INSERT OR IGNORE INTO audit_spool (request_id, spooled_at, record) VALUES (@id, @at, @record)", "@id", "@at", "@record");
        var at = DateTimeOffset.UtcNow.ToString("O", CultureInfo.InvariantCulture);
        var added = 0;
        foreach (var record in records)
        {
            insert.Parameters["@id"].Value = (long)record.RequestId;
            insert.Parameters["@at"].Value = at;
            insert.Parameters["@record"].Value = JsonSerializer.Serialize(record);
            added += insert.ExecuteNonQuery();
        }
        tx.Commit();
        Pending += added;
    }

    /// <summary>Up to <paramref name="max"/> spooled records, oldest request first.</summary>
    public IReadOnlyList<AuditRecord> Read(int max)
    {
        if (!File.Exists(Path)) { Pending = 0; return []; }
        using var connection = Open();
        using var select = Command(connection, null, "SELECT record FROM audit_spool ORDER BY request_id LIMIT @max", "@max");
        select.Parameters["@max"].Value = max;
        var records = new List<AuditRecord>();
        using (var reader = select.ExecuteReader())
            while (reader.Read()) records.Add(JsonSerializer.Deserialize<AuditRecord>(reader.GetString(0))!);
        if (records.Count == 0) Pending = 0;
        return records;
    }

    /// <summary>Forgets <paramref name="records"/>: call only once the store has committed them.</summary>
    public void Remove(IReadOnlyList<AuditRecord> records)
    {
        using var connection = Open();
        using var tx = connection.BeginTransaction();
        using var delete = Command(connection, tx, "DELETE FROM audit_spool WHERE request_id = @id", "@id");
        var removed = 0;
        foreach (var record in records)
        {
            delete.Parameters["@id"].Value = (long)record.RequestId;
            removed += delete.ExecuteNonQuery();
        }
        tx.Commit();
        Pending = Math.Max(0, Pending - removed);
    }

    private SqliteConnection Open()
    {
        if (!_created) Directory.CreateDirectory(System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(Path))!);
        var connection = new SqliteConnection(_connectionString);
        try
        {
            connection.Open();
            if (!_created)
            {
                using var create = Command(connection, null, Schema);
                create.ExecuteNonQuery();
                _created = true;
            }
            return connection;
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }

    private static SqliteCommand Command(SqliteConnection connection, SqliteTransaction? tx, string sql, params string[] parameters)
    {
        var command = connection.CreateCommand();
        command.Transaction = tx;
        command.CommandText = sql;
        foreach (var name in parameters) command.Parameters.Add(new SqliteParameter(name, DBNull.Value));
        return command;
    }
}
