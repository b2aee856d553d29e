using IntegrationApi.Tests.Infrastructure;
using static IntegrationApi.Tests.Infrastructure.TestRequests;
using Proto = IntegrationApi.Contracts;

namespace IntegrationApi.Tests.Functional;

/// <summary>VerifyCredential really asks each provider (several were a no-op "valid" in the original).</summary>
public sealed class VerifyCredentialTests
{
    public static IEnumerable<object[]> AllProviders => ProviderCases;

    private static Task<Proto.VerifyCredentialResponse> VerifyAsync(TestGateway gateway, string provider, string key)
    {
        var request = new Proto.VerifyCredentialRequest { Credential = gateway.NewChat(provider, "x", key: key).Credential };
        var headers = TestGateway.AuthHeaders();
        var channel = gateway.Channel;
        return (provider switch
        {
            "openai" => new Proto.OpenAiService.OpenAiServiceClient(channel).VerifyCredentialAsync(request, headers),
            "azure" => new Proto.AzureService.AzureServiceClient(channel).VerifyCredentialAsync(request, headers),
            "gemini" => new Proto.GeminiService.GeminiServiceClient(channel).VerifyCredentialAsync(request, headers),
            "vertexai" => new Proto.VertexAiService.VertexAiServiceClient(channel).VerifyCredentialAsync(request, headers),
            "replicate" => new Proto.ReplicateService.ReplicateServiceClient(channel).VerifyCredentialAsync(request, headers),
            "anthropic" => new Proto.AnthropicService.AnthropicServiceClient(channel).VerifyCredentialAsync(request, headers),
            "cohere" => new Proto.CohereService.CohereServiceClient(channel).VerifyCredentialAsync(request, headers),
            "mistral" => new Proto.MistralService.MistralServiceClient(channel).VerifyCredentialAsync(request, headers),
            _ => throw new ArgumentException(provider),
        }).ResponseAsync;
    }

    [Theory, MemberData(nameof(AllProviders))]
    public async Task ValidCredential_Valid_AfterAskingTheProvider(string provider)
    {
        await using var gateway = await TestGateway.StartAsync();
        var response = await VerifyAsync(gateway, provider, "test-key");
        Assert.True(response.Success, response.ErrorMessage);
        Assert.Equal(200, response.Code);
        Assert.Equal("valid", response.Response);
        Assert.NotEqual(0UL, response.RequestId);
        Assert.Single(gateway.Fake(provider).Verifications);
        Assert.Empty(gateway.Fake(provider).Requests); // the check is not a chat
    }

    [Theory, MemberData(nameof(AllProviders))]
    public async Task RejectedCredential_401_WithTheProvidersMessage_NoSecret(string provider)
    {
        await using var gateway = await TestGateway.StartAsync();
        const string bad = "wrong-secret-key-123";
        var response = await VerifyAsync(gateway, provider, bad);
        Assert.False(response.Success);
        Assert.Equal(401, response.Code);
        Assert.NotEmpty(response.ErrorMessage);
        Assert.DoesNotContain(bad, response.ErrorMessage);
    }

    [Fact]
    public async Task MissingCredential_400()
    {
        await using var gateway = await TestGateway.StartAsync();
        var response = await new Proto.OpenAiService.OpenAiServiceClient(gateway.Channel)
            .VerifyCredentialAsync(new Proto.VerifyCredentialRequest(), TestGateway.AuthHeaders()).ResponseAsync;
        Assert.Equal(400, response.Code);
        Assert.Contains("credential", response.ErrorMessage);
    }
}
