using IntegrationApi.Providers.Replicate;
using Microsoft.Extensions.Configuration;

namespace IntegrationApi.Tests.Unit;

/// <summary>A prediction's URLs are fetched with the caller's key only when they are Replicate's (or the configured base's).</summary>
public sealed class ReplicateUrlPolicyTests
{
    private static readonly ReplicateUrlPolicy Defaults = new(new ReplicateOptions());

    [Theory]
    [InlineData("https://api.replicate.com/v1/predictions/abc")]
    [InlineData("https://API.replicate.com/v1/predictions/abc/cancel")]
    [InlineData("https://stream.replicate.com/v1/files/abc")]
    [InlineData("https://api.replicate.com:443/v1/predictions/abc")]
    public void ReplicateHostsOverHttps_Allowed(string url) => Assert.NotNull(Defaults.Check(url));

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("/v1/predictions/abc")]                       // relative
    [InlineData("http://api.replicate.com/v1/predictions/abc")] // not https
    [InlineData("https://api.replicate.com:8443/v1/x")]        // another port
    [InlineData("https://api.replicate.com.evil.example/v1/x")]
    [InlineData("https://evil.example/api.replicate.com")]
    [InlineData("https://user:pw@api.replicate.com/v1/x")]
    [InlineData("http://127.0.0.1:9/v1/x")]
    [InlineData("file:///etc/passwd")]
    public void AnythingElse_Refused(string? url) => Assert.Null(Defaults.Check(url));

    [Fact]
    public void BaseUrlOrigin_Allowed_ConfiguredHostsReplaceTheDefaults()
    {
        var policy = new ReplicateUrlPolicy(new ReplicateOptions { BaseUrl = "http://127.0.0.1:5123/v1", AllowedUrlHosts = ["replicate.internal"] });
        Assert.NotNull(policy.Check("http://127.0.0.1:5123/v1/files/stream-1"));
        Assert.NotNull(policy.Check("https://replicate.internal/v1/files/stream-1"));
        Assert.Null(policy.Check("http://127.0.0.1:5124/v1/files/stream-1"));
        Assert.Null(policy.Check("https://api.replicate.com/v1/predictions/abc"));
    }

    [Fact]
    public void HostsFromConfiguration_ReplaceTheDefaults()
    {
        var options = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { ["Replicate:AllowedUrlHosts:0"] = "replicate.internal" })
            .Build().GetSection("Replicate").Get<ReplicateOptions>()!;
        var policy = new ReplicateUrlPolicy(options);
        Assert.NotNull(policy.Check("https://replicate.internal/v1/files/abc"));
        Assert.Null(policy.Check("https://stream.replicate.com/v1/files/abc"));
        Assert.NotNull(policy.Check("https://api.replicate.com/v1/predictions/abc")); // the base URL's own origin
    }
}
