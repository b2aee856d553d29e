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

    /// <summary>
    /// <paramref name="text"/> with every credential value replaced, for provider messages that echo a
    /// key back (OpenAI's 401 does, partly masked); applied on the error path only.
    /// </summary>
    public string Redact(string text)
    {
        foreach (var value in values.Values)
            if (value.Length >= 4 && text.Contains(value, StringComparison.Ordinal))
                text = text.Replace(value, "[redacted]", StringComparison.Ordinal);
        return text;
    }

    /// <summary>Keeps secrets out of logs and exception messages.</summary>
    public override string ToString() => $"Credential(id={Id}, keys=[{string.Join(",", values.Keys)}])";
}
