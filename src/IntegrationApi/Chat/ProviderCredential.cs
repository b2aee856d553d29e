namespace IntegrationApi.Chat;

/// <summary>The provider secret sent with one request (<c>Credential.value</c>); never logged or echoed.</summary>
public sealed class ProviderCredential(ulong id, IReadOnlyDictionary<string, string> values)
{
    /// <summary>The caller's id for this credential (audit only).</summary>
    public ulong Id { get; } = id;

    /// <summary>The value of <paramref name="key"/>, or null.</summary>
    public string? Get(string key) => values.TryGetValue(key, out var v) && v.Length > 0 ? v : null;

    /// <summary>The value of <paramref name="key"/>, or a 400 naming the missing key.</summary>
    public string Require(string key) =>
        Get(key) ?? throw new ChatRequestException($"credential.value.{key} is required for this provider");

    /// <summary>Keeps secrets out of logs and exception messages.</summary>
    public override string ToString() => $"Credential(id={Id}, keys=[{string.Join(",", values.Keys)}])";
}
