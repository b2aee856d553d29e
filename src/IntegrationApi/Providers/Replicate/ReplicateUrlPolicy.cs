namespace IntegrationApi.Providers.Replicate;

/// <summary>
/// Which URLs from a prediction's <c>urls</c> the service may fetch with the caller's key: https on an allowed
/// Replicate host (default port), or the configured base URL's own scheme, host and port. Anything else is
/// the provider's answer pointing elsewhere, and is never fetched.
/// </summary>
internal sealed class ReplicateUrlPolicy(ReplicateOptions options)
{
    private readonly Uri _base = options.ToBaseUri();
    private readonly HashSet<string> _hosts = new(options.UrlHosts, StringComparer.OrdinalIgnoreCase);

    /// <summary>The allowed hosts, for messages.</summary>
    public string Describe() => "https on " + string.Join(", ", _hosts.Order(StringComparer.Ordinal));

    /// <summary><paramref name="url"/> as a URI when it may be fetched, else null.</summary>
    public Uri? Check(string? url)
    {
        if (url is null || !Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.UserInfo.Length > 0) return null;
        var onAllowedHost = uri.Scheme == Uri.UriSchemeHttps && uri.IsDefaultPort && _hosts.Contains(uri.Host);
        var onBase = Uri.Compare(uri, _base, UriComponents.SchemeAndServer, UriFormat.Unescaped, StringComparison.OrdinalIgnoreCase) == 0;
        return onAllowedHost || onBase ? uri : null;
    }

    /// <summary>Scheme and host of <paramref name="url"/> for a message (never its path or query).</summary>
    public static string Origin(string url) =>
        Uri.TryCreate(url, UriKind.Absolute, out var uri) ? uri.GetComponents(UriComponents.SchemeAndServer, UriFormat.SafeUnescaped) : "an unreadable URL";
}
