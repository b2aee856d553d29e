using IntegrationApi.Chat;
using IntegrationApi.Providers.AzureOpenAI;
using Microsoft.Extensions.Configuration;

namespace IntegrationApi.Tests.Unit;

/// <summary>A caller's Azure endpoint must be an Azure OpenAI host over https, so the service never fetches arbitrary URLs.</summary>
public sealed class AzureEndpointTests
{
    private static readonly AzureOpenAIOptions Defaults = new();

    [Theory]
    [InlineData("https://my-res.openai.azure.com", "https://my-res.openai.azure.com/")]
    [InlineData("https://my-res.openai.azure.com/", "https://my-res.openai.azure.com/")]
    [InlineData("https://my-res.cognitiveservices.azure.com", "https://my-res.cognitiveservices.azure.com/")]
    [InlineData("https://hub.services.ai.azure.com/", "https://hub.services.ai.azure.com/")]
    public void AllowedHosts_Accepted(string endpoint, string expected) =>
        Assert.Equal(expected, AzureEndpoint.Validate(endpoint, Defaults).ToString());

    [Theory]
    [InlineData("http://my-res.openai.azure.com")]          // not https
    [InlineData("https://openai.azure.com.evil.example")]   // suffix elsewhere in the host
    [InlineData("https://evil.example/openai.azure.com")]   // suffix in the path
    [InlineData("https://user:pw@my-res.openai.azure.com")] // credentials in the URL
    [InlineData("https://.openai.azure.com")]               // no resource name
    [InlineData("http://127.0.0.1:8080")]                   // loopback only when allowed
    [InlineData("file:///etc/passwd")]
    [InlineData("not a url")]
    public void OtherEndpoints_400(string endpoint) =>
        Assert.Throws<ChatRequestException>(() => AzureEndpoint.Validate(endpoint, Defaults));

    [Fact]
    public void Loopback_OnlyWhenConfigured() =>
        Assert.Equal("http://127.0.0.1:8080/", AzureEndpoint.Validate("http://127.0.0.1:8080", new AzureOpenAIOptions { AllowLoopbackEndpoints = true }).ToString());

    [Fact]
    public void ConfiguredSuffixes_ReplaceTheDefaults()
    {
        var options = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { ["Azure:AllowedEndpointSuffixes:0"] = ".openai.azure.com" })
            .Build().GetSection("Azure").Get<AzureOpenAIOptions>()!;
        Assert.Equal("https://my-res.openai.azure.com/", AzureEndpoint.Validate("https://my-res.openai.azure.com", options).ToString());
        Assert.Throws<ChatRequestException>(() => AzureEndpoint.Validate("https://my-res.cognitiveservices.azure.com", options));
    }
}
