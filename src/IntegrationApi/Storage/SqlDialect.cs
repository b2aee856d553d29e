using System.Data.Common;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace IntegrationApi.Storage;

/// <summary>
/// What differs between the two SQL databases the service keeps data in (audit records and stored API keys):
/// the connection, column types and "insert unless present". Everything else is plain ADO.NET with <c>@</c> parameters.
/// </summary>
internal sealed record SqlDialect(bool IsPostgres, Func<DbConnection> Connect, string? OnOpen, string? Schema)
{
    /// <summary>A 64-bit integer column.</summary>
    public string BigInteger => IsPostgres ? "BIGINT" : "INTEGER";

    /// <summary>A 64-bit primary key numbered by the database.</summary>
    public string IdentityPrimaryKey => IsPostgres ? "BIGSERIAL PRIMARY KEY" : "INTEGER PRIMARY KEY AUTOINCREMENT";

    /// <summary>The statement that creates the connection string's schema, when it names one.</summary>
    public string? CreateSchema => Schema is null ? null : $"CREATE SCHEMA IF NOT EXISTS \"{Schema.Replace("\"", "\"\"", StringComparison.Ordinal)}\"";

    /// <summary>
    /// Statements taking and releasing a session-wide PostgreSQL advisory lock around schema creation and migrations, so that
    /// instances starting together do not race on <c>CREATE</c> (null on SQLite, whose file lock already serialises them).
    /// </summary>
    public (string Take, string Release)? SchemaLock => IsPostgres ? ("SELECT pg_advisory_lock(16160016)", "SELECT pg_advisory_unlock(16160016)") : null;

    /// <summary>An INSERT of <paramref name="columnsAndValues"/> into <paramref name="table"/> that does nothing when a row with the same <paramref name="key"/> exists.</summary>
    public string InsertUnlessPresent(string table, string columnsAndValues, string key) => IsPostgres
        ? $"INSERT INTO {table} {columnsAndValues} ON CONFLICT ({key}) DO NOTHING"
        : $"INSERT OR IGNORE INTO {table} {columnsAndValues}";

    /// <summary>PostgreSQL when <paramref name="postgresConnectionString"/> is given, else the SQLite file at <paramref name="sqlitePath"/> under the content root.</summary>
    public static SqlDialect For(string? postgresConnectionString, string sqlitePath, IHostEnvironment environment)
    {
        if (postgresConnectionString is { Length: > 0 }) return Postgres(postgresConnectionString);
        var path = Path.IsPathRooted(sqlitePath) ? sqlitePath : Path.Combine(environment.ContentRootPath, sqlitePath);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        return Sqlite(path);
    }

    /// <summary>The embedded default: one file; <see cref="OnOpen"/> asks for WAL so readers do not block the writer.</summary>
    public static SqlDialect Sqlite(string path) => new(false,
        () => new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = true }.ToString()),
        "PRAGMA journal_mode=WAL;", null);

    /// <summary>PostgreSQL by configuration; a <c>Search Path</c> in the connection string names the schema (created if missing).</summary>
    public static SqlDialect Postgres(string connectionString) => new(true,
        () => new NpgsqlConnection(connectionString), null,
        new NpgsqlConnectionStringBuilder(connectionString).SearchPath is { Length: > 0 } schema && schema != "public" ? schema : null);
}
