using IntegrationApi.Tests.Infrastructure;
using Microsoft.Extensions.Options;

namespace IntegrationApi.Tests.Functional;

/// <summary>A wrong setting stops the service at start with a message naming it.</summary>
public sealed class ConfigurationTests
{
    [Theory]
    [InlineData("Engine:MaxConcurrentRequestsPerStream", "0", "MaxConcurrentRequestsPerStream")]
    [InlineData("Providers:OpenAI:BaseUrl", "not a url", "BaseUrl")]
    [InlineData("Auth:ApiKeys:0:Sha256", "abc", "Auth:ApiKeys")]
    [InlineData("Server:MaxReceiveMessageSize", "10", "MaxReceiveMessageSize")]
    public async Task WrongValue_StopsStartNamingTheSetting(string key, string value, string named)
    {
        var error = await Assert.ThrowsAnyAsync<OptionsValidationException>(async () =>
        {
            await using var gateway = await TestGateway.StartAsync(new Dictionary<string, string?> { [key] = value });
        });
        Assert.Contains(named, error.Message);
    }

    [Fact]
    public async Task IncompleteApiKeyEntry_StopsStart()
    {
        var error = await Assert.ThrowsAnyAsync<OptionsValidationException>(async () =>
        {
            await using var gateway = await TestGateway.StartAsync(new Dictionary<string, string?>
            {
                ["Auth:ApiKeys:0:Sha256"] = null, ["Auth:ApiKeys:0:OrganizationId"] = null,
            });
        });
        Assert.Contains("Auth:ApiKeys", error.Message);
    }
}
