using Google.Protobuf.WellKnownTypes;
using IntegrationApi.Testing;
using IntegrationApi.Tests.Infrastructure;
using Microsoft.AspNetCore.Http;
using static IntegrationApi.Tests.Functional.Embeddings.CallTestRequests;

namespace IntegrationApi.Tests.Functional.Embeddings;

/// <summary>What the gateway does with a provider answer it cannot trust, and what it keeps out of records.</summary>
[Collection(AuditStores.Collection)]
public sealed class CallSafetyTests
{
    private static void Answer(FakeProviderServer fake, int status, string body) => fake.Intercept = async context =>
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync(body, context.RequestAborted);
        return true;
    };

    [Theory]
    [InlineData("""{"object":"list","data":[{"object":"embedding","index":0,"embedding":[0.1]}],"usage":{"prompt_tokens":1}}""", "no embedding for input 1")]
    [InlineData("""{"object":"list","data":[{"index":0,"embedding":[0.1]},{"index":7,"embedding":[0.2]}]}""", "index 7")]
    [InlineData("""{"object":"list","data":[{"index":0,"embedding":"not base64!"},{"index":1,"embedding":[0.2]}]}""", "could not be read")]
    [InlineData("""{"object":"list","data":[{"index":0,"embedding":[0.1]""", "could not be read")]
    public async Task Embedding_ProviderAnswerWithAGapOrGarbage_502NotAPartialAnswer(string body, string message)
    {
        await using var gateway = await TestGateway.StartAsync();
        Answer(gateway.OpenAI, 200, body);
        var response = await gateway.EmbedAsync("openai", Embedding(gateway, "openai", "a", "b"));

        Assert.Equal(502, response.Code);
        Assert.Contains(message, response.Error.ErrorMessage);
        Assert.Empty(response.Data);
    }

    [Fact]
    public async Task Embedding_ProviderErrorEchoingTheKey_Redacted()
    {
        await using var gateway = await TestGateway.StartAsync();
        Answer(gateway.OpenAI, 401, """{"error":{"message":"Incorrect API key provided: sk-secret-abcdef123456.","type":"invalid_request_error","code":"invalid_api_key"}}""");
        var request = Embedding(gateway, "openai", "a");
        request.Credential = TestRequests.Credential("sk-secret-abcdef123456");
        var response = await gateway.EmbedAsync("openai", request);

        Assert.Equal(401, response.Code);
        Assert.DoesNotContain("sk-secret-abcdef123456", response.Error.ErrorMessage);
        Assert.Contains("[redacted]", response.Error.ErrorMessage);
    }

    [Fact]
    public async Task Audit_WithPayloads_CredentialRedacted_VectorsLeftOut()
    {
        await using var gateway = await TestGateway.StartAsync(new Dictionary<string, string?> { ["Audit:IncludePayloads"] = "true" });
        var request = Embedding(gateway, "openai", "hello").With("model.name", Value.ForString("text-embedding-3-small"));
        request.AdditionalData["assistant_id"] = "42";
        var response = await gateway.EmbedAsync("openai", request);
        Assert.True(response.Success);

        await gateway.App.StopAsync();
        var record = Assert.Single(await gateway.AuditStore.ListAsync(2, 3, 0, 10, CancellationToken.None));
        Assert.DoesNotContain("test-key", record.RequestJson);
        Assert.Contains("[redacted]", record.RequestJson);
        Assert.Contains("hello", record.RequestJson);
        Assert.DoesNotContain("embedding\": [", record.ResponseJson);
        Assert.Equal("text-embedding-3-small", record.Model);
        Assert.Equal("42", record.Metadata["assistant_id"]);
        Assert.Equal(response.Metrics.MetricOf("INPUT_TOKEN"), record.InputTokens?.ToString());
    }
}
