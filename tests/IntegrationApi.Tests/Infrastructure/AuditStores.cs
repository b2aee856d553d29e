namespace IntegrationApi.Tests.Infrastructure;

/// <summary>
/// The audit stores a suite runs against: SQLite always; PostgreSQL when <see cref="PostgresVariable"/> holds a
/// connection string (.ci/run installs and starts Debian's PostgreSQL and sets it). Each gateway gets its own schema.
/// </summary>
public static class AuditStores
{
    public const string PostgresVariable = "INTEGRATION_API_TEST_POSTGRES";

    /// <summary>Tests that use the shared PostgreSQL server run one at a time (the outage tests stop it).</summary>
    public const string Collection = "audit stores";

    private static string? Postgres => Environment.GetEnvironmentVariable(PostgresVariable) is { Length: > 0 } s ? s : null;

    public static IEnumerable<object[]> All => Postgres is null ? [["sqlite"]] : [["sqlite"], ["postgres"]];

    /// <summary>Configuration for <paramref name="store"/>.</summary>
    public static Dictionary<string, string?> Settings(string store) => store == "postgres"
        ? new()
        {
            ["Audit:Store"] = "postgres",
            ["Audit:PostgresConnectionString"] = $"{Postgres};Search Path=t_{Guid.NewGuid():N}",
        }
        : [];
}
