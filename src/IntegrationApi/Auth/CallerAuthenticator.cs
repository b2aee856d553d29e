using System.Collections.Concurrent;
using System.Collections.Frozen;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Options;

namespace IntegrationApi.Auth;

/// <summary>
/// Checks call metadata (docs/contract.md §5): <c>x-internal-service-key</c>, an HS256 JWT with <c>organizationId</c>,
/// <c>projectId</c>, optional <c>userId</c>, <c>exp</c> and, when present, <c>nbf</c>/<c>iat</c> not in the future;
/// or <c>x-api-key</c>, a project key checked by hash.
/// </summary>
/// <remarks>
/// HS256 is verified here rather than with IdentityModel because IdentityModel refuses HMAC keys shorter
/// than 128 bits, and existing deployments of the original sign with a short shared secret (a loud warning
/// at start says so).
/// </remarks>
public sealed partial class CallerAuthenticator
{
    public const string ServiceKeyHeader = "x-internal-service-key";
    public const string ApiKeyHeader = "x-api-key";
    /// <summary>Below this many bytes an HS256 secret can be brute-forced offline from one token.</summary>
    public const int RecommendedSecretBytes = 32;
    private const string ApiKeyPrefix = "rpd-prj-";
    private const int MaxHeaderChars = 8192;
    private const int MaxCheckedKeys = 100_000;

    private readonly byte[]? _jwtKey;
    private readonly TimeSpan _skew;
    private readonly TimeSpan _revocationCheck;
    private readonly FrozenDictionary<string, ApiKeyEntry> _apiKeys;
    private readonly TimeProvider _time;
    private readonly ApiKeyStore _store;
    private readonly ILogger<CallerAuthenticator> _logger;
    /// <summary>Stored keys seen by open streams: whether each was active when last checked, and when.</summary>
    private readonly ConcurrentDictionary<string, KeyCheck> _checked = new(StringComparer.Ordinal);

    public CallerAuthenticator(IOptions<AuthOptions> options, TimeProvider time, ApiKeyStore store, ILogger<CallerAuthenticator> logger)
    {
        (_store, _logger, _time) = (store, logger, time);
        var o = options.Value;
        _jwtKey = o.JwtSecret.Length == 0 ? null : Encoding.UTF8.GetBytes(o.JwtSecret);
        if (_jwtKey is { Length: < RecommendedSecretBytes }) Log.ShortSecret(logger, _jwtKey.Length, RecommendedSecretBytes);
        _skew = o.ClockSkew;
        _revocationCheck = o.RevocationCheckInterval;
        _apiKeys = o.ApiKeys.ToFrozenDictionary(k => k.Sha256.ToLowerInvariant(), StringComparer.Ordinal);
    }

    /// <summary>
    /// The principal for these headers, or why not (never echoing the secret). Completes synchronously except when a
    /// stored key is not in the lookup cache; throws what the key store throws when it cannot be read.
    /// </summary>
    public ValueTask<Authentication> AuthenticateAsync(string? serviceKey, string? apiKey, CancellationToken cancellationToken = default)
    {
        var failure = "";
        var reason = AuthFailure.None;
        if (!string.IsNullOrEmpty(serviceKey))
        {
            var principal = ValidateJwt(serviceKey, out failure, out reason);
            if (principal is not null || string.IsNullOrEmpty(apiKey)) return new(new Authentication(principal, failure) { Reason = reason });
        }
        if (string.IsNullOrEmpty(apiKey))
            return new(failure.Length == 0
                ? new Authentication(null, $"missing {ServiceKeyHeader} or {ApiKeyHeader} metadata") { Reason = AuthFailure.Missing }
                : new Authentication(null, failure) { Reason = reason });

        var key = apiKey.StartsWith(ApiKeyPrefix, StringComparison.Ordinal) ? apiKey[ApiKeyPrefix.Length..] : apiKey;
        var hash = HashKey(key);
        if (_apiKeys.TryGetValue(hash, out var entry))
            return new(new Authentication(new CallerPrincipal(entry.OrganizationId, entry.ProjectId, null, null, "api-key"), ""));
        var stored = _store.FindAsync(hash, cancellationToken);
        return stored.IsCompletedSuccessfully ? new(FromStore(hash, stored.Result)) : FromStoreAsync(hash, stored);
    }

    private async ValueTask<Authentication> FromStoreAsync(string hash, ValueTask<KeyOwner?> stored) =>
        FromStore(hash, await stored.ConfigureAwait(false));

    private Authentication FromStore(string hash, KeyOwner? stored)
    {
        if (stored is not { } owner) return new(null, "x-api-key is not valid") { Reason = AuthFailure.UnknownKey };
        // The revocation clock of open streams starts with the first stream; later ones may come from the lookup cache.
        if (_checked.Count > MaxCheckedKeys) _checked.Clear();
        _checked.TryAdd(hash, new KeyCheck(true, _time.GetTimestamp()));
        return new(new CallerPrincipal(owner.OrganizationId, owner.ProjectId, null, null, "api-key") { StoredKeyHash = hash }, "");
    }

    /// <summary>
    /// True once the stored key <paramref name="principal"/> authenticated with has been revoked. The store is asked
    /// at most once per <see cref="AuthOptions.RevocationCheckInterval"/> per key (by one caller; the streams of that key
    /// go on with the last answer meanwhile), bypassing the lookup cache; while the store cannot be read, the last answer
    /// stands. Completes synchronously except for that one re-check. The interval starts with the key's first stream,
    /// whose answer may have come from the lookup cache: a key revoked elsewhere stops open streams within the interval
    /// plus <see cref="ApiKeyLookupCache.FoundFor"/>.
    /// </summary>
    public ValueTask<bool> IsRevokedAsync(CallerPrincipal principal)
    {
        if (principal.StoredKeyHash is not { } hash) return ValueTask.FromResult(false);
        var now = _time.GetTimestamp();
        var last = _checked.GetValueOrDefault(hash);
        if (last is not null && _time.GetElapsedTime(last.At, now) < _revocationCheck) return ValueTask.FromResult(!last.Active);
        var claim = new KeyCheck(last?.Active ?? true, now);
        if (_checked.Count > MaxCheckedKeys) _checked.Clear(); // bounded: a cleared key is simply checked again
        var mine = last is null ? _checked.TryAdd(hash, claim) : _checked.TryUpdate(hash, claim, last);
        return mine ? RecheckAsync(hash, claim) : ValueTask.FromResult(!claim.Active); // another caller is re-checking
    }

    private async ValueTask<bool> RecheckAsync(string hash, KeyCheck claim)
    {
        bool active;
        try { active = await _store.RefreshAsync(hash).ConfigureAwait(false) is not null; }
        catch (Exception ex) when (IsStoreFailure(ex))
        {
            Log.RevocationCheckFailed(_logger, ex);
            return !claim.Active; // the claim already holds the last answer, stamped now
        }
        // Only over our own claim: a revocation announced meanwhile (MarkRevoked) replaced it and must win.
        if (!_checked.TryUpdate(hash, claim with { Active = active }, claim) && _checked.TryGetValue(hash, out var newer)) return !newer.Active;
        return !active;
    }

    /// <summary>
    /// Takes the stored key with this hash as revoked now (a revocation announced by an instance): the open streams of this
    /// instance that authenticated with it answer 401 to their next request, without waiting for the re-check interval.
    /// </summary>
    public void MarkRevoked(string sha256)
    {
        if (_checked.ContainsKey(sha256)) _checked[sha256] = new KeyCheck(false, _time.GetTimestamp());
    }

    /// <summary>The key store could not be read (as opposed to a bug): the caller is not at fault.</summary>
    public static bool IsStoreFailure(Exception ex) =>
        ex is System.Data.Common.DbException or InvalidOperationException or IOException or TimeoutException;

    /// <summary>Lower-case hex SHA-256 of an API key without its prefix, as stored in configuration.</summary>
    public static string HashKey(string key) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)));

    private CallerPrincipal? ValidateJwt(string token, out string failure, out AuthFailure reason)
    {
        failure = $"{ServiceKeyHeader} is not a valid token";
        reason = AuthFailure.InvalidToken;
        if (_jwtKey is null || token.Length > MaxHeaderChars) return null;
        var parts = token.Split('.');
        if (parts.Length != 3) return null;
        try
        {
            using var header = JsonDocument.Parse(Base64UrlDecode(parts[0]));
            if (header.RootElement.ValueKind != JsonValueKind.Object
                || !header.RootElement.TryGetProperty("alg", out var alg) || alg.ValueKind != JsonValueKind.String || alg.GetString() != "HS256") return null;

            var expected = HMACSHA256.HashData(_jwtKey, Encoding.ASCII.GetBytes(parts[0] + "." + parts[1]));
            if (!CryptographicOperations.FixedTimeEquals(expected, Base64UrlDecode(parts[2]))) return null;

            using var payload = JsonDocument.Parse(Base64UrlDecode(parts[1]));
            var claims = payload.RootElement;
            if (claims.ValueKind != JsonValueKind.Object) return null;
            var now = _time.GetUtcNow();
            DateTimeOffset? expires = ReadTime(claims, "exp");
            if (expires is null) { (failure, reason) = ($"{ServiceKeyHeader} has no exp claim", AuthFailure.MissingClaims); return null; }
            if (now >= expires.Value + _skew) { (failure, reason) = ($"{ServiceKeyHeader} has expired", AuthFailure.Expired); return null; }
            // A token not valid yet, or issued in the future, is refused: it was minted by a wrong clock or ahead of use.
            if (ReadTime(claims, "nbf") is { } notBefore && now + _skew < notBefore) { (failure, reason) = ($"{ServiceKeyHeader} is not valid yet (nbf)", AuthFailure.NotYetValid); return null; }
            if (ReadTime(claims, "iat") is { } issued && now + _skew < issued) { (failure, reason) = ($"{ServiceKeyHeader} was issued in the future (iat)", AuthFailure.NotYetValid); return null; }

            var org = ReadId(claims, "organizationId");
            var project = ReadId(claims, "projectId");
            if (org is null or 0 || project is null or 0) { (failure, reason) = ($"{ServiceKeyHeader} needs organizationId and projectId claims", AuthFailure.MissingClaims); return null; }
            reason = AuthFailure.None;
            return new CallerPrincipal(org.Value, project.Value, ReadId(claims, "userId"), expires + _skew, "service-key");
        }
        catch (Exception ex) when (ex is JsonException or FormatException or ArgumentException or InvalidOperationException)
        {
            reason = AuthFailure.InvalidToken;
            return null;
        }
    }

    /// <summary>A NumericDate claim (seconds since the epoch), or null when absent; out-of-range values are refused.</summary>
    private static DateTimeOffset? ReadTime(JsonElement claims, string name)
    {
        if (!claims.TryGetProperty(name, out var v)) return null;
        var seconds = v.ValueKind switch
        {
            JsonValueKind.Number when v.TryGetDouble(out var d) && double.IsFinite(d) => d,
            JsonValueKind.String when double.TryParse(v.GetString(), System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var s) && double.IsFinite(s) => s,
            _ => throw new FormatException($"{name} is not a number"),
        };
        // 253402300799 is 9999-12-31T23:59:59Z, the last second DateTimeOffset can hold.
        if (seconds is < 0 or > 253402300799) throw new FormatException($"{name} is out of range");
        return DateTimeOffset.FromUnixTimeSeconds((long)seconds);
    }

    /// <summary>A numeric claim, given as a JSON number or a numeric string (the original's clients send both).</summary>
    private static ulong? ReadId(JsonElement claims, string name)
    {
        if (!claims.TryGetProperty(name, out var v)) return null;
        return v.ValueKind switch
        {
            JsonValueKind.Number when v.TryGetUInt64(out var n) => n,
            JsonValueKind.Number when v.TryGetDouble(out var d) && d >= 0 && d < ulong.MaxValue => (ulong)d,
            JsonValueKind.String when ulong.TryParse(v.GetString(), out var s) => s,
            _ => null,
        };
    }

    private static byte[] Base64UrlDecode(string s) => System.Buffers.Text.Base64Url.DecodeFromChars(s);

    private sealed record KeyCheck(bool Active, long At);

    private static partial class Log
    {
        [LoggerMessage(51, LogLevel.Warning, "SECURITY WARNING: Auth:JwtSecret is only {Bytes} bytes; an HS256 secret shorter than {Recommended} bytes can be guessed offline from any one token. It is accepted for compatibility with the original's deployments; replace it with a random secret of at least {Recommended} bytes.")]
        public static partial void ShortSecret(ILogger logger, int bytes, int recommended);

        [LoggerMessage(52, LogLevel.Warning, "Could not re-check a stored API key for revocation; its last known state stands")]
        public static partial void RevocationCheckFailed(ILogger logger, Exception exception);
    }
}

/// <summary>The outcome of <see cref="CallerAuthenticator.AuthenticateAsync"/>: a principal, or the reason there is none.</summary>
public readonly record struct Authentication(CallerPrincipal? Principal, string Failure)
{
    /// <summary>Why there is no principal, as one of a fixed set (<see cref="AuthFailure.None"/> when there is one).</summary>
    public AuthFailure Reason { get; init; }
}
