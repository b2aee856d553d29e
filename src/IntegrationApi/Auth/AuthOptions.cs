using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace IntegrationApi.Auth;

/// <summary>Caller authentication (<c>Auth</c> section); secrets come from the environment, never from committed files.</summary>
public sealed class AuthOptions : IValidatableObject
{
    /// <summary>HS256 secret of <c>x-internal-service-key</c> JWTs; empty disables that scheme.</summary>
    public string JwtSecret { get; set; } = "";

    /// <summary>Allowed clock skew when checking <c>exp</c>, <c>nbf</c> and <c>iat</c> (0: none).</summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:10:00")] public TimeSpan ClockSkew { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// How often a stream that authenticated with a stored project API key re-checks that the key is still
    /// active; a revoked key's open streams refuse new requests (401) within this time.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00.001", "01:00:00")] public TimeSpan RevocationCheckInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>The SQLite file of stored project API keys (created with <c>keys create</c>); relative to the content root.</summary>
    public string KeyStorePath { get; set; } = "data/keys.db";

    /// <summary>Project API keys, held only as SHA-256 hashes (hex) of the key without its <c>rpd-prj-</c> prefix.</summary>
    public List<ApiKeyEntry> ApiKeys { get; set; } = [];

    /// <summary>The rules between settings (the ranges are on the properties).</summary>
    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (JwtSecret.Length == 0 && ApiKeys.Count == 0 && KeyStorePath.Length == 0)
            yield return new ValidationResult("Auth: set Auth:JwtSecret (environment variable Auth__JwtSecret), Auth:ApiKeys or Auth:KeyStorePath");
        if (!ApiKeys.All(k => k.Sha256 is { Length: 64 } && k.OrganizationId > 0 && k.ProjectId > 0))
            yield return new ValidationResult("Auth:ApiKeys: each entry needs a 64-hex-digit Sha256, an OrganizationId and a ProjectId");
    }
}

/// <summary>Checks <see cref="AuthOptions"/> at start (generated from its attributes, plus <see cref="AuthOptions.Validate"/>).</summary>
[OptionsValidator]
internal sealed partial class AuthOptionsValidator : IValidateOptions<AuthOptions>;

/// <summary>One project API key, by hash.</summary>
public sealed class ApiKeyEntry
{
    /// <summary>Lower-case hex SHA-256 of the key (prefix stripped).</summary>
    public string Sha256 { get; set; } = "";
    public ulong OrganizationId { get; set; }
    public ulong ProjectId { get; set; }
}
