using System.Globalization;
using System.Security.Cryptography;
using System.Data.Common;
using IntegrationApi.Audit;
using IntegrationApi.Storage;
using Microsoft.Extensions.Options;

namespace IntegrationApi.Auth;

/// <summary>A stored project API key, as listed (the key itself is never stored, only its SHA-256).</summary>
public sealed record StoredApiKey(long Id, string Name, ulong OrganizationId, ulong ProjectId, DateTimeOffset CreatedAt, DateTimeOffset? RevokedAt, string Prefix);

/// <summary>The project an active stored key belongs to.</summary>
public readonly record struct KeyOwner(ulong OrganizationId, ulong ProjectId);

/// <summary>
/// Project API keys held as hashes: in PostgreSQL when the audit store is (<c>Audit:Store</c>), so every instance
/// shares them; else in an embedded SQLite file (<c>Auth:KeyStorePath</c>). The table is created at start
/// (<see cref="EnsureCreated"/>). Keys presented by callers are looked up through a short cache
/// (<see cref="ApiKeyLookupCache"/>): a revocation here refuses the next stream at once, one made elsewhere (another
/// instance, the <c>keys revoke</c> command) within <see cref="ApiKeyLookupCache.FoundFor"/>.
/// </summary>
public sealed class ApiKeyStore
{
    private const string KeyPrefix = "rpd-prj-";
    private readonly SqlDialect _dialect;
    private readonly ApiKeyLookupCache _cache;
    private readonly IKeyRevocationBroadcast? _broadcast;

    public ApiKeyStore(IOptions<AuthOptions> options, IOptions<AuditOptions> audit, IHostEnvironment environment, TimeProvider time,
        IKeyRevocationBroadcast? broadcast = null)
    {
        _broadcast = broadcast;
        // The same database choice as the audit store (its own SQLite file when that is SQLite).
        _dialect = SqlDialect.For(audit.Value.PostgresOrNull, options.Value.KeyStorePath, environment);
        _cache = new ApiKeyLookupCache(QueryAsync, time);
    }

    /// <summary>Creates the table (and the connection string's schema) unless there; called once at start.</summary>
    public void EnsureCreated()
    {
        using var connection = Open();
        // Instances starting together: one creates, the others wait (CREATE … IF NOT EXISTS races in PostgreSQL).
        if (_dialect.SchemaLock is { } schemaLock) Execute(connection, schemaLock.Take);
        try { CreateLocked(connection); }
        finally
        {
            // Closing the connection releases a session lock anyway: a failing release must not hide the creation's error.
            if (_dialect.SchemaLock is { } held)
                try { Execute(connection, held.Release); }
                catch (DbException) { }
        }
    }

    private void CreateLocked(DbConnection connection)
    {
        if (_dialect.CreateSchema is { } createSchema) Execute(connection, createSchema);
        Execute(connection, $"""
            CREATE TABLE IF NOT EXISTS api_keys (
                id {_dialect.IdentityPrimaryKey},
                sha256 TEXT NOT NULL UNIQUE,
                prefix TEXT NOT NULL,
                name TEXT NOT NULL,
                organization_id INTEGER NOT NULL,
                project_id INTEGER NOT NULL,
                created_at TEXT NOT NULL,
                revoked_at TEXT
            );
            """);
    }

    /// <summary>Creates a key for a project; the returned text is the only time the key exists in the clear.</summary>
    public (StoredApiKey Key, string Secret) Create(ulong organizationId, ulong projectId, string name)
    {
        var secret = KeyPrefix + Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        var now = DateTimeOffset.UtcNow;
        using var connection = Open();
        using var insert = connection.CreateCommand();
        insert.CommandText = "INSERT INTO api_keys (sha256, prefix, name, organization_id, project_id, created_at) VALUES (@h, @p, @n, @o, @j, @t) RETURNING id";
        var hash = CallerAuthenticator.HashKey(secret[KeyPrefix.Length..]);
        Add(insert, "@h", hash);
        Add(insert, "@p", secret[..(KeyPrefix.Length + 6)]);
        Add(insert, "@n", name);
        Add(insert, "@o", (long)organizationId);
        Add(insert, "@j", (long)projectId);
        Add(insert, "@t", now.ToString("O", CultureInfo.InvariantCulture));
        var id = Convert.ToInt64(insert.ExecuteScalar(), CultureInfo.InvariantCulture);
        _cache.Remove(hash); // never "unknown" from a lookup a moment ago
        return (new StoredApiKey(id, name, organizationId, projectId, now, null, secret[..(KeyPrefix.Length + 6)]), secret);
    }

    /// <summary>Every key, newest first (hashes are not shown).</summary>
    public IReadOnlyList<StoredApiKey> List()
    {
        using var connection = Open();
        using var query = connection.CreateCommand();
        query.CommandText = "SELECT id, name, organization_id, project_id, created_at, revoked_at, prefix FROM api_keys ORDER BY id DESC";
        using var reader = query.ExecuteReader();
        var keys = new List<StoredApiKey>();
        while (reader.Read())
            keys.Add(new StoredApiKey(reader.GetInt64(0), reader.GetString(1), (ulong)reader.GetInt64(2), (ulong)reader.GetInt64(3),
                DateTimeOffset.Parse(reader.GetString(4), CultureInfo.InvariantCulture),
                reader.IsDBNull(5) ? null : DateTimeOffset.Parse(reader.GetString(5), CultureInfo.InvariantCulture), reader.GetString(6)));
        return keys;
    }

    /// <summary>Revokes a key; true when it existed and was active. This instance refuses it for new streams at once.</summary>
    public bool Revoke(long id)
    {
        using var connection = Open();
        using var update = connection.CreateCommand();
        update.CommandText = "UPDATE api_keys SET revoked_at = @t WHERE id = @id AND revoked_at IS NULL RETURNING sha256";
        Add(update, "@t", DateTimeOffset.UtcNow.ToString("O", CultureInfo.InvariantCulture));
        Add(update, "@id", id);
        if (update.ExecuteScalar() is not string hash) return false;
        _cache.Remove(hash);
        _broadcast?.Publish(hash); // every instance (this one too) refuses it on its open streams at once
        return true;
    }

    /// <summary>Forgets what the lookup cache holds for this key (revoked elsewhere), so the next lookup asks the store.</summary>
    public void Forget(string sha256) => _cache.Remove(sha256);

    /// <summary>
    /// The owner of the active key with this hash, or null; answered from the lookup cache when it can be (then
    /// synchronously), else by one query shared by every concurrent caller.
    /// </summary>
    public ValueTask<KeyOwner?> FindAsync(string sha256, CancellationToken cancellationToken = default) =>
        _cache.GetAsync(sha256, cancellationToken);

    /// <summary>Like <see cref="FindAsync"/>, but always asks the store (and keeps the answer for later lookups).</summary>
    public async Task<KeyOwner?> RefreshAsync(string sha256)
    {
        var owner = await QueryAsync(sha256).ConfigureAwait(false);
        _cache.Set(sha256, owner);
        return owner;
    }

    private async Task<KeyOwner?> QueryAsync(string sha256)
    {
        // Not cancellable by any one caller: the answer is shared by all who wait for it.
        await using var connection = _dialect.Connect();
        await connection.OpenAsync().ConfigureAwait(false);
        await using var query = connection.CreateCommand();
        query.CommandText = "SELECT organization_id, project_id FROM api_keys WHERE sha256 = @h AND revoked_at IS NULL";
        Add(query, "@h", sha256);
        await using var reader = await query.ExecuteReaderAsync().ConfigureAwait(false);
        return await reader.ReadAsync().ConfigureAwait(false) ? new KeyOwner((ulong)reader.GetInt64(0), (ulong)reader.GetInt64(1)) : null;
    }

    private DbConnection Open()
    {
        var connection = _dialect.Connect();
        connection.Open();
        return connection;
    }

    private static void Add(DbCommand command, string name, object value)
    {
        var p = command.CreateParameter();
        p.ParameterName = name;
        p.Value = value;
        command.Parameters.Add(p);
    }

    private static void Execute(DbConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }
}
