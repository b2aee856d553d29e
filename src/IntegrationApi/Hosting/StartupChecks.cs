using System.Data.Common;
using IntegrationApi.Audit;
using IntegrationApi.Auth;
using Microsoft.Extensions.Options;

namespace IntegrationApi.Hosting;

/// <summary>What the service is built for: serving callers, or a command (<c>keys</c>) on the same configuration.</summary>
public enum HostPurpose
{
    Serve,
    Command,
}

/// <summary>
/// What is checked once the service is built and before it listens, in order, each failure naming its setting: every
/// setting's value, the key store (its table created), the audit store's location, and (serving in Production) that
/// some caller can authenticate.
/// </summary>
internal static class StartupChecks
{
    public static void Run(WebApplication app, HostPurpose purpose)
    {
        // Validate every setting now, before anything is built from it, so a wrong value stops the service with a
        // message naming the setting (not a stack trace from wherever it was first used).
        app.Services.GetRequiredService<IStartupValidator>().Validate();
        var auth = app.Services.GetRequiredService<IOptions<AuthOptions>>().Value;
        var audit = app.Services.GetRequiredService<IOptions<AuditOptions>>().Value;

        // The key store's table is created now, not on the first call (a database that cannot be reached stops the service here).
        var keyStore = Describe(audit, auth.KeyStorePath, "Auth:KeyStorePath", app.Environment);
        var hasStoredKeys = Step(keyStore, () =>
        {
            var store = app.Services.GetRequiredService<ApiKeyStore>();
            store.EnsureCreated();
            return purpose == HostPurpose.Serve && NoConfiguredCallers(auth) && store.List().Any(k => k.RevokedAt is null);
        });
        app.Services.GetRequiredService<CallerAuthenticator>(); // warns about a short JWT secret at start
        if (purpose != HostPurpose.Serve) return;

        if (audit.Enabled)
            Step(Describe(audit, audit.SqlitePath, "Audit:SqlitePath", app.Environment), () => app.Services.GetRequiredService<IAuditStore>());
        if (app.Environment.IsProduction() && NoConfiguredCallers(auth) && !hasStoredKeys)
            throw new StartupException("no caller authentication is configured and the Production environment refuses to start without it: " +
                "set Auth__JwtSecret (service JWTs), Auth:ApiKeys (SHA-256 of project keys), or create a project key first with " +
                $"`IntegrationApi keys create --org N --project N` (same settings as the service; it writes to {keyStore})");
    }

    private static bool NoConfiguredCallers(AuthOptions auth) => auth.JwtSecret.Length == 0 && auth.ApiKeys.Count == 0;

    /// <summary>The store as the operator configured it, without secrets: PostgreSQL's host, port and database, or the SQLite file's full path.</summary>
    private static string Describe(AuditOptions audit, string sqlitePath, string setting, IHostEnvironment environment)
    {
        if (audit.PostgresOrNull is { Length: > 0 } connectionString)
        {
            try
            {
                var b = new Npgsql.NpgsqlConnectionStringBuilder(connectionString);
                return $"PostgreSQL at {b.Host}:{b.Port} database {b.Database ?? "(default)"} (Audit:PostgresConnectionString)";
            }
            catch (ArgumentException e)
            {
                throw new StartupException($"invalid setting Audit:PostgresConnectionString: {e.Message}; it takes the form Host=H;Port=5432;Username=U;Password=P;Database=D (environment variable Audit__PostgresConnectionString)", e);
            }
        }
        return $"{setting} ({(Path.IsPathRooted(sqlitePath) ? sqlitePath : Path.Combine(environment.ContentRootPath, sqlitePath))})";
    }

    private static T Step<T>(string resource, Func<T> step)
    {
        try
        {
            return step();
        }
        catch (Exception e) when (e is DbException or IOException or UnauthorizedAccessException or TimeoutException)
        {
            var cause = e.InnerException is { } inner && inner.Message != e.Message ? $"{e.Message} ({inner.Message})" : e.Message;
            var todo = resource.StartsWith("PostgreSQL", StringComparison.Ordinal)
                ? "start PostgreSQL or fix Audit__PostgresConnectionString (host, port, credentials)"
                : "check the path, that the file is the service's SQLite database, and that the service's user may write it and its folder (an absolute path on a writable volume in a container)";
            throw new StartupException($"{resource} cannot be used: {cause}; {todo}", e);
        }
    }
}
