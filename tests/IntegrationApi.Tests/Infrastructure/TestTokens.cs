using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace IntegrationApi.Tests.Infrastructure;

/// <summary>Mints HS256 service tokens the way the original's clients do (numeric claims, 24 h by default).</summary>
public static class TestTokens
{
    public static string Jwt(string secret, ulong userId, ulong organizationId, ulong projectId, DateTimeOffset expires, string alg = "HS256",
        IReadOnlyDictionary<string, object>? extraClaims = null)
    {
        var header = Encode(JsonSerializer.SerializeToUtf8Bytes(new Dictionary<string, object> { ["alg"] = alg, ["typ"] = "JWT" }));
        var claims = new Dictionary<string, object>
        {
            ["userId"] = userId, ["organizationId"] = organizationId, ["projectId"] = projectId, ["exp"] = expires.ToUnixTimeSeconds(),
        };
        foreach (var (name, value) in extraClaims ?? new Dictionary<string, object>()) claims[name] = value;
        var payload = Encode(JsonSerializer.SerializeToUtf8Bytes(claims));
        var signature = Encode(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), Encoding.ASCII.GetBytes(header + "." + payload)));
        return header + "." + payload + "." + signature;
    }

    private static string Encode(byte[] bytes) => System.Buffers.Text.Base64Url.EncodeToString(bytes);
}
