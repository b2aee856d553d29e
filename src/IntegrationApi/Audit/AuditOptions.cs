using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace IntegrationApi.Audit;

/// <summary>Audit records (<c>Audit</c> section).</summary>
public sealed class AuditOptions : IValidatableObject
{
    /// <summary>Write audit records at all.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary><c>sqlite</c> (embedded, the default) or <c>postgres</c>.</summary>
    [RegularExpression("(?i)^(sqlite|postgres)$")] public string Store { get; set; } = "sqlite";

    /// <summary>The PostgreSQL connection string when <see cref="Store"/> is <c>postgres</c> (from the environment: <c>Audit__PostgresConnectionString</c>).</summary>
    public string PostgresConnectionString { get; set; } = "";

    /// <summary>The PostgreSQL connection string when <see cref="Store"/> is <c>postgres</c>, else null (the embedded SQLite store).</summary>
    public string? PostgresOrNull => Store.Equals("postgres", StringComparison.OrdinalIgnoreCase) ? PostgresConnectionString : null;

    /// <summary>The SQLite file (the default store); relative paths are under the content root.</summary>
    [Required] public string SqlitePath { get; set; } = "data/audit.db";

    /// <summary>Also keep each request and response as JSON (credential values redacted). Off by default: prompts are data.</summary>
    public bool IncludePayloads { get; set; }

    /// <summary>Records buffered in memory while the store is slow or down; past this they are dropped, counted and logged.</summary>
    [Range(1, 10_000_000)] public int BufferCapacity { get; set; } = 100_000;

    /// <summary>Records written in one transaction at most.</summary>
    [Range(1, 100_000)] public int BatchSize { get; set; } = 500;

    /// <summary>
    /// How long the writer lets records gather after the first one arrives before it writes them (unless a batch
    /// fills first; shutdown writes at once). One transaction per interval instead of one per request keeps the
    /// store's cost off the request path under load: on one core, writing each record alone added ~0.4 ms to every chat.
    /// 0 writes each record as it comes.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:01:00")] public TimeSpan FlushInterval { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>Longest wait between retries while the store is failing.</summary>
    [Range(typeof(TimeSpan), "00:00:00.001", "01:00:00")] public TimeSpan MaxRetryDelay { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// The local SQLite file that keeps the records the store cannot take (an outage, or shutdown while it is down) until
    /// it can; relative paths are under the content root. Empty: next to <see cref="SqlitePath"/>, named
    /// <c>&lt;name&gt;-spool.db</c> (<c>data/audit-spool.db</c> by default), so two instances with their own audit files
    /// never share a spool.
    /// </summary>
    public string SpoolPath { get; set; } = "";

    /// <summary>How long a batch the store refuses is retried in memory before it goes to the spool (shutdown spools at once; 0: the first refusal does).</summary>
    [Range(typeof(TimeSpan), "00:00:00", "01:00:00")] public TimeSpan SpoolAfter { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>The spool file: <see cref="SpoolPath"/>, or the default next to <see cref="SqlitePath"/>, rooted at <paramref name="contentRoot"/>.</summary>
    public string ResolveSpoolPath(string contentRoot)
    {
        var path = SpoolPath.Length > 0 ? SpoolPath
            : Path.Combine(Path.GetDirectoryName(SqlitePath) ?? "", Path.GetFileNameWithoutExtension(SqlitePath) + "-spool" + Path.GetExtension(SqlitePath));
        return Path.IsPathRooted(path) ? path : Path.Combine(contentRoot, path);
    }

    /// <summary>The rules between settings (the ranges are on the properties).</summary>
    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (Store.Equals("postgres", StringComparison.OrdinalIgnoreCase) && PostgresConnectionString.Length == 0)
            yield return new ValidationResult("Audit:PostgresConnectionString is required when Audit:Store is postgres (environment variable Audit__PostgresConnectionString)");
    }
}

/// <summary>Checks <see cref="AuditOptions"/> at start (generated from its attributes, plus <see cref="AuditOptions.Validate"/>).</summary>
[OptionsValidator]
internal sealed partial class AuditOptionsValidator : IValidateOptions<AuditOptions>;
