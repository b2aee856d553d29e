using IntegrationApi.Testing;
using IntegrationApi.Tests.Infrastructure;

namespace IntegrationApi.Tests.Functional;

/// <summary>Vertex AI's service-account tokens: exchanged once per credential at the configured endpoint, cached, and a bad key never reaches the API.</summary>
public sealed class VertexAITests
{
    [Fact]
    public async Task BurstOfRequestsWithOneCredential_OneTokenExchange()
    {
        await using var tokens = await VertexAIFake.StartNewAsync();
        await using var gateway = await TestGateway.StartAsync(OutboundSettings.WithTokenEndpoint(tokens));
        var vertex = (VertexAIFake)gateway.Fake("vertexai");
        using var stream = gateway.OpenStream("vertexai");
        for (var i = 0; i < 12; i++) await stream.SendAsync(gateway.NewChat("vertexai", $"burst {i}", $"b{i}"));
        var terminals = await stream.ReadTerminalsAsync(12);

        Assert.All(terminals, t => Assert.True(t.Success, t.Describe()));
        Assert.Equal(1, tokens.TokenExchanges);
        Assert.Equal(0, vertex.TokenExchanges); // the key's token_uri (this fake) is not where the exchange goes
        Assert.Equal(12, vertex.Requests.Count);
        Assert.All(vertex.Requests, r => Assert.Equal("Bearer ya29.fake-test-key", r.Header("authorization")));
        Assert.All(vertex.Requests, r => Assert.Contains("/projects/test-project/locations/us-central1/publishers/google/models/gemini-2.5-flash:streamGenerateContent", r.Path));
    }

    [Theory]
    [InlineData("region", "us-central1.evil.example#")]
    [InlineData("project_id", "../other")]
    [InlineData("region", "us-central1\n")]   // '$' matched before a final newline
    [InlineData("project_id", "test-project\n")]
    [InlineData("service_account_key", "{not json")]
    [InlineData("service_account_key", "[]")]
    [InlineData("service_account_key", "{\"client_email\":\"a@b.c\"}")]
    public async Task UnsafeOrInvalidCredentialFields_400(string field, string value)
    {
        await using var gateway = await TestGateway.StartAsync();
        var request = gateway.NewChat("vertexai", "hi");
        request.Credential.Value.Fields[field] = Google.Protobuf.WellKnownTypes.Value.ForString(value);
        var response = await gateway.ChatAsync("vertexai", request);
        Assert.Equal(400, response.Code);
        Assert.Contains(field, response.Error.ErrorMessage);
        Assert.Empty(gateway.Fake("vertexai").Requests);
    }
}
