using System.Collections.Frozen;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Options;

namespace IntegrationApi.Auth;

/// <summary>
/// Checks call metadata (contract §5): <c>x-internal-service-key</c>, an HS256 JWT with <c>organizationId</c>,
/// <c>projectId</c>, optional <c>userId</c> and <c>exp</c>; or <c>x-api-key</c>, a project key checked by hash.
/// </summary>
/// <remarks>
/// HS256 is verified here rather than with IdentityModel because IdentityModel refuses HMAC keys shorter
/// than 128 bits, and existing deployments of the original sign with a short shared secret.
/// </remarks>
public sealed class CallerAuthenticator
{
    public const string ServiceKeyHeader = "x-internal-service-key";
    public const string ApiKeyHeader = "x-api-key";
    private const string ApiKeyPrefix = "rpd-prj-";

    private readonly byte[]? _jwtKey;
    private readonly TimeSpan _skew;
    private readonly FrozenDictionary<string, ApiKeyEntry> _apiKeys;
    private readonly TimeProvider _time;
    private readonly ApiKeyStore _store;

    public CallerAuthenticator(IOptions<AuthOptions> options, TimeProvider time, ApiKeyStore store)
    {
        _store = store;
        var o = options.Value;
        _jwtKey = o.JwtSecret.Length == 0 ? null : Encoding.UTF8.GetBytes(o.JwtSecret);
        _skew = o.ClockSkew;
        _apiKeys = o.ApiKeys.ToFrozenDictionary(k => k.Sha256.ToLowerInvariant(), StringComparer.Ordinal);
        _time = time;
    }

    /// <summary>The principal for these headers, or null with the reason (which never echoes the secret).</summary>
    public CallerPrincipal? Authenticate(string? serviceKey, string? apiKey, out string failure)
    {
        failure = "";
        if (!string.IsNullOrEmpty(serviceKey))
        {
            var principal = ValidateJwt(serviceKey, out failure);
            if (principal is not null || string.IsNullOrEmpty(apiKey)) return principal;
        }
        if (!string.IsNullOrEmpty(apiKey))
        {
            var key = apiKey.StartsWith(ApiKeyPrefix, StringComparison.Ordinal) ? apiKey[ApiKeyPrefix.Length..] : apiKey;
            var hash = HashKey(key);
            if (_apiKeys.TryGetValue(hash, out var entry))
                return new CallerPrincipal(entry.OrganizationId, entry.ProjectId, null, null, "api-key");
            if (_store.Find(hash) is { } stored)
                return new CallerPrincipal(stored.OrganizationId, stored.ProjectId, null, null, "api-key");
            failure = "x-api-key is not valid";
            return null;
        }
        if (failure.Length == 0) failure = $"missing {ServiceKeyHeader} or {ApiKeyHeader} metadata";
        return null;
    }

    /// <summary>Lower-case hex SHA-256 of an API key without its prefix, as stored in configuration.</summary>
    public static string HashKey(string key) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)));

    private CallerPrincipal? ValidateJwt(string token, out string failure)
    {
        failure = $"{ServiceKeyHeader} is not a valid token";
        if (_jwtKey is null) return null;
        var parts = token.Split('.');
        if (parts.Length != 3) return null;
        try
        {
            using var header = JsonDocument.Parse(Base64UrlDecode(parts[0]));
            if (!header.RootElement.TryGetProperty("alg", out var alg) || alg.GetString() != "HS256") return null;

            var expected = HMACSHA256.HashData(_jwtKey, Encoding.ASCII.GetBytes(parts[0] + "." + parts[1]));
            if (!CryptographicOperations.FixedTimeEquals(expected, Base64UrlDecode(parts[2]))) return null;

            using var payload = JsonDocument.Parse(Base64UrlDecode(parts[1]));
            var claims = payload.RootElement;
            DateTimeOffset? expires = ReadId(claims, "exp") is { } exp ? DateTimeOffset.FromUnixTimeSeconds((long)exp) : null;
            if (expires is null) { failure = $"{ServiceKeyHeader} has no exp claim"; return null; }
            if (_time.GetUtcNow() >= expires.Value + _skew) { failure = $"{ServiceKeyHeader} has expired"; return null; }

            var org = ReadId(claims, "organizationId");
            var project = ReadId(claims, "projectId");
            if (org is null or 0 || project is null or 0) { failure = $"{ServiceKeyHeader} needs organizationId and projectId claims"; return null; }
            return new CallerPrincipal(org.Value, project.Value, ReadId(claims, "userId"), expires + _skew, "service-key");
        }
        catch (Exception ex) when (ex is JsonException or FormatException or ArgumentException or InvalidOperationException)
        {
            return null;
        }
    }

    /// <summary>A numeric claim, given as a JSON number or a numeric string (the original's clients send both).</summary>
    private static ulong? ReadId(JsonElement claims, string name)
    {
        if (!claims.TryGetProperty(name, out var v)) return null;
        return v.ValueKind switch
        {
            JsonValueKind.Number when v.TryGetUInt64(out var n) => n,
            JsonValueKind.Number when v.TryGetDouble(out var d) && d >= 0 => (ulong)d,
            JsonValueKind.String when ulong.TryParse(v.GetString(), out var s) => s,
            _ => null,
        };
    }

    private static byte[] Base64UrlDecode(string s) => System.Buffers.Text.Base64Url.DecodeFromChars(s);
}
