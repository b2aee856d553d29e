using System.Net;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace IntegrationApi.Chat;

/// <summary>The provider secret sent with one request (<c>Credential.value</c>); never logged or echoed.</summary>
public sealed class ProviderCredential(ulong id, IReadOnlyDictionary<string, string> values)
{
    private const string Redacted = "[redacted]";

    /// <summary>The caller's id for this credential (audit only).</summary>
    public ulong Id { get; } = id;

    /// <summary>The raw value of <paramref name="key"/>, or null; never put it in a header or URL (use <see cref="Require"/>).</summary>
    public string? Get(string key) => values.TryGetValue(key, out var v) && v.Length > 0 ? v : null;

    /// <summary>
    /// The value of <paramref name="key"/> for a header or URL, or a 400 naming the key when it is missing or holds a
    /// character no header can carry (control or non-ASCII: HttpClient would throw, giving a 500 or a retried 502).
    /// </summary>
    public string Require(string key) => Sendable(key, RequireText(key));

    /// <summary>The value of <paramref name="key"/> if present and sendable in a header (400 if it is not sendable), else null.</summary>
    public string? Optional(string key) => Get(key) is { } value ? Sendable(key, value) : null;

    /// <summary>The value of <paramref name="key"/> as text that never goes into a header (a service-account JSON key, with its newlines).</summary>
    public string RequireText(string key) =>
        Get(key) ?? throw new ChatRequestException($"credential.value.{key} is required for this provider");

    /// <summary>
    /// <paramref name="text"/> with every credential value replaced, for provider messages that echo a
    /// key back (OpenAI's 401 does, partly masked); applied on the error path only. Values shorter than 4
    /// characters are left alone; JSON-escaped and URL-encoded forms of a value are replaced too.
    /// </summary>
    public string Redact(string text)
    {
        foreach (var value in values.Values.Where(v => v.Length >= 4).OrderByDescending(v => v.Length))
        {
            if (text.Contains(value, StringComparison.Ordinal)) text = text.Replace(value, Redacted, StringComparison.Ordinal);
            foreach (var form in EncodedForms(value))
                if (text.Contains(form, StringComparison.OrdinalIgnoreCase)) text = text.Replace(form, Redacted, StringComparison.OrdinalIgnoreCase);
        }
        return text;
    }

    /// <summary>
    /// <see cref="Redact"/>, then at most <paramref name="maxChars"/> characters (and "…"): redacting first, so that a
    /// cut cannot leave part of a secret that redaction would no longer recognise.
    /// </summary>
    public string RedactAndTruncate(string text, int maxChars = 1024)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(maxChars);
        text = Redact(text);
        if (text.Length <= maxChars) return text;
        var cut = maxChars > 0 && char.IsHighSurrogate(text[maxChars - 1]) ? maxChars - 1 : maxChars;
        return string.Concat(text.AsSpan(0, cut), "…");
    }

    /// <summary>Keeps secrets out of logs and exception messages.</summary>
    public override string ToString() => $"Credential(id={Id}, keys=[{string.Join(",", values.Keys)}])";

    private static string Sendable(string key, string value)
    {
        foreach (var c in value)
            if (c < 0x20 || c >= 0x7F)
                throw new ChatRequestException($"credential.value.{key} contains characters that cannot be sent (control or non-ASCII)");
        return value;
    }

    /// <summary>How a body may spell <paramref name="value"/>: JSON escapes (\u002B, \/), percent-encoding (%2B, + for space).</summary>
    private static IEnumerable<string> EncodedForms(string value)
    {
        var json = JsonEncodedText.Encode(value).ToString();
        var relaxed = JsonEncodedText.Encode(value, JavaScriptEncoder.UnsafeRelaxedJsonEscaping).ToString();
        string[] forms =
        [
            json, json.Replace("/", "\\/", StringComparison.Ordinal),
            relaxed, relaxed.Replace("/", "\\/", StringComparison.Ordinal),
            Uri.EscapeDataString(value), WebUtility.UrlEncode(value),
        ];
        return forms.Where(f => !f.Equals(value, StringComparison.Ordinal)).Distinct(StringComparer.OrdinalIgnoreCase);
    }
}
