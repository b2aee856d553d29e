using System.ComponentModel.DataAnnotations;

namespace IntegrationApi.Providers;

/// <summary>Settings every provider has; bound from <c>Providers:&lt;Name&gt;</c>.</summary>
public abstract class ProviderOptions
{
    /// <summary>How long an idle pooled connection to the provider is kept.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "1.00:00:00")]
    public TimeSpan PooledConnectionIdleTimeout { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>How long a pooled connection lives before it is replaced (DNS changes).</summary>
    [Range(typeof(TimeSpan), "00:00:01", "1.00:00:00")]
    public TimeSpan PooledConnectionLifetime { get; set; } = TimeSpan.FromMinutes(10);
}

/// <summary>Settings of a provider with one fixed API endpoint.</summary>
public abstract class EndpointProviderOptions : ProviderOptions
{
    /// <summary>The provider API's base URL (tests point it at a loopback fake).</summary>
    [Required, Url]
    public string BaseUrl { get; set; } = "";

    /// <summary>The base URL with a trailing slash, so relative paths append.</summary>
    public Uri ToBaseUri() => new(BaseUrl.EndsWith('/') ? BaseUrl : BaseUrl + "/");
}
