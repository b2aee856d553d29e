using IntegrationApi.Chat;

namespace IntegrationApi.Providers;

/// <summary>Caller input that becomes one part of a provider URL path.</summary>
internal static class UrlSegment
{
    /// <summary>
    /// <paramref name="value"/> escaped as exactly one path segment ('/' becomes %2F), or a 400 naming
    /// <paramref name="field"/> when it is empty, a dot segment ('.' or '..', which would walk the path) or holds a control character.
    /// </summary>
    public static string Escape(string? value, string field)
    {
        if (string.IsNullOrEmpty(value) || value is "." or "..")
            throw new ChatRequestException($"{field} must be a single URL path segment (not empty, \".\" or \"..\")");
        foreach (var c in value)
            if (c < 0x20 || c == 0x7F)
                throw new ChatRequestException($"{field} contains a control character");
        return Uri.EscapeDataString(value);
    }
}
