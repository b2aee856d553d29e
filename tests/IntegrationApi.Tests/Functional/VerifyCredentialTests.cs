using IntegrationApi.Testing;
using IntegrationApi.Tests.Infrastructure;
using static IntegrationApi.Tests.Infrastructure.TestRequests;
using Proto = IntegrationApi.Contracts;

namespace IntegrationApi.Tests.Functional;

/// <summary>VerifyCredential really asks each provider (several were a no-op "valid" in the original).</summary>
public sealed class VerifyCredentialTests
{
    public static IEnumerable<object[]> AllProviders => ProviderCases;

    private static Task<Proto.VerifyCredentialResponse> VerifyAsync(TestGateway gateway, string provider, string key) =>
        gateway.VerifyCredentialAsync(provider, new Proto.VerifyCredentialRequest { Credential = gateway.NewChat(provider, "x", key: key).Credential });

    [Theory, MemberData(nameof(AllProviders))]
    public async Task ValidCredential_Valid_AfterAskingTheProvider(string provider)
    {
        await using var tokens = await VertexAIFake.StartNewAsync();
        await using var gateway = await TestGateway.StartAsync(OutboundSettings.WithTokenEndpoint(tokens));
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
        await using var tokens = await VertexAIFake.StartNewAsync();
        await using var gateway = await TestGateway.StartAsync(OutboundSettings.WithTokenEndpoint(tokens));
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
        var response = await gateway.VerifyCredentialAsync("openai", new Proto.VerifyCredentialRequest());
        Assert.Equal(400, response.Code);
        Assert.Contains("credential", response.ErrorMessage);
    }
}
