namespace IntegrationApi.Providers.Replicate;

/// <summary>Settings for Replicate (<c>Providers:Replicate</c>).</summary>
public sealed class ReplicateOptions : EndpointProviderOptions
{
    private static readonly string[] DefaultUrlHosts = ["api.replicate.com", "stream.replicate.com"];

    public ReplicateOptions() => BaseUrl = "https://api.replicate.com/v1";

    /// <summary>
    /// Hosts a prediction's <c>urls</c> (stream, get, cancel) may point to, https only; the base URL's own origin is
    /// always allowed. Unset means the defaults (a configured list replaces them rather than adding to them).
    /// </summary>
    public List<string>? AllowedUrlHosts { get; set; }

    /// <summary>The effective host list.</summary>
    public IReadOnlyList<string> UrlHosts => AllowedUrlHosts is { Count: > 0 } hosts ? hosts : DefaultUrlHosts;
}
