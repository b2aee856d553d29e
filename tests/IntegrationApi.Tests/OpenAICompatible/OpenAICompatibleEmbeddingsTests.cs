using System.ClientModel;
using System.ClientModel.Primitives;
using System.Net;
using System.Text;
using System.Text.Json;
using IntegrationApi.Testing;
using IntegrationApi.Tests.Infrastructure;
using OpenAI;
using OpenAI.Embeddings;
using static IntegrationApi.Tests.OpenAICompatible.OpenAICompatibleClient;

namespace IntegrationApi.Tests.OpenAICompatible;

/// <summary><c>POST /v1/embeddings</c> on the gRPC surface's Embedding flow, through the official SDK and raw HTTP.</summary>
public sealed class OpenAICompatibleEmbeddingsTests
{
    /// <summary>Every provider with Embedding, and a model name for it.</summary>
    private static readonly Dictionary<string, string> Models = new()
    {
        ["openai"] = "text-embedding-3-small", ["azure"] = "my-embedding-deployment", ["mistral"] = "mistral-embed",
        ["gemini"] = "gemini-embedding-001", ["vertexai"] = "text-embedding-005", ["cohere"] = "embed-v4.0",
    };

    public static IEnumerable<object[]> Providers => Models.Keys.Select(p => new object[] { p });

    [Theory, MemberData(nameof(Providers))]
    public async Task Sdk_EmbedsEachInputInOrder(string provider)
    {
        await using var gateway = await TestGateway.StartAsync();
        var options = new OpenAIClientOptions { Endpoint = new Uri(gateway.OpenAIAddress + "/v1"), RetryPolicy = new ClientRetryPolicy(maxRetries: 0) };
        options.AddPolicy(new HeaderPolicy(CredentialHeaders(gateway, provider)), PipelinePosition.PerCall);
        var client = new EmbeddingClient(provider + "/" + Models[provider], new ApiKeyCredential(TestGateway.ApiKey), options);

        // The SDK asks for base64 and decodes it: the vectors also cross the gateway's base64 path.
        OpenAIEmbeddingCollection embeddings = await client.GenerateEmbeddingsAsync(["hello", "hi there, world"]).DefaultTimeout();

        Assert.Equal(2, embeddings.Count);
        // The fake's vector starts with the text's length: each vector is its own input's.
        Assert.Equal(5f, embeddings[0].ToFloats().Span[0]);
        Assert.Equal(15f, embeddings[1].ToFloats().Span[0]);
        Assert.Equal([0, 1], embeddings.Select(e => e.Index));
        Assert.Single(gateway.Fake(provider).Requests);
    }

    [Fact]
    public async Task Raw_FloatsWithUsageAndRequestId_AndOneAuditRecord()
    {
        await using var gateway = await TestGateway.StartAsync();
        using var http = Raw(gateway);
        var request = new HttpRequestMessage(HttpMethod.Post, "/v1/embeddings")
        {
            Content = new StringContent("""{"model":"openai/text-embedding-3-small","input":"abc","encoding_format":"float"}""", Encoding.UTF8, "application/json"),
        };
        request.Headers.Add("x-provider-key", "test-key");

        using var response = await http.SendAsync(request).DefaultTimeout();
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        await gateway.App.StopAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var root = json.RootElement;
        Assert.Equal("list", root.GetProperty("object").GetString());
        Assert.Equal("openai/text-embedding-3-small", root.GetProperty("model").GetString());
        var item = Assert.Single(root.GetProperty("data").EnumerateArray());
        Assert.Equal(("embedding", 0), (item.GetProperty("object").GetString(), item.GetProperty("index").GetInt32()));
        Assert.Equal(3, item.GetProperty("embedding")[0].GetDouble());
        Assert.True(root.GetProperty("usage").GetProperty("total_tokens").GetInt32() > 0);
        var record = Assert.Single(await gateway.AuditStore.ListAsync(7, 8, 0, 10, CancellationToken.None));
        Assert.Equal(ulong.Parse(response.Headers.GetValues("x-request-id").Single()), record.RequestId);
        Assert.Equal(("openai", "embedding"), (record.Provider, record.Metadata["operation"]));
    }

    [Theory]
    [InlineData("""{"model":"openai/text-embedding-3-small","input":[[1,2,3]]}""", "test-key", HttpStatusCode.BadRequest, "token arrays")]
    [InlineData("""{"model":"openai/text-embedding-3-small"}""", "test-key", HttpStatusCode.BadRequest, "input")]
    [InlineData("""{"model":"anthropic/claude-sonnet-4-5","input":"x"}""", "test-key", HttpStatusCode.BadRequest, "no Embedding")]
    [InlineData("""{"model":"text-embedding-3-small","input":"x"}""", "test-key", HttpStatusCode.BadRequest, "<provider>/<model>")]
    [InlineData("""{"model":"openai/text-embedding-3-small","input":"x"}""", null, HttpStatusCode.BadRequest, "x-provider-key")]
    [InlineData("""{"model":"openai/text-embedding-3-small","input":""",  "test-key", HttpStatusCode.BadRequest, "JSON")]
    [InlineData("""{"model":"openai/text-embedding-3-small","input":"x"}""", "wrong-key", HttpStatusCode.Unauthorized, "")]
    public async Task Raw_Refusals_AreOpenAIErrorBodies(string body, string? providerKey, HttpStatusCode status, string named)
    {
        await using var gateway = await TestGateway.StartAsync();
        using var http = Raw(gateway);
        var request = new HttpRequestMessage(HttpMethod.Post, "/v1/embeddings") { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        if (providerKey is not null) request.Headers.Add("x-provider-key", providerKey);

        using var response = await http.SendAsync(request).DefaultTimeout();
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());

        Assert.Equal(status, response.StatusCode);
        Assert.Contains(named, json.RootElement.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);

        // Every refusal of an authenticated caller leaves its one audit record, also before a request could be built.
        var deadline = DateTime.UtcNow + TaskTimeoutExtensions.Limit;
        while (await gateway.AuditStore.CountAsync(7, 8, default) < 1 && DateTime.UtcNow < deadline) await Task.Delay(20);
        var record = Assert.Single(await gateway.AuditStore.ListAsync(7, 8, 0, 10, default));
        Assert.Equal((int)status, record.Code);
        Assert.Equal("embedding", record.Metadata["operation"]);
    }

    [Fact]
    public async Task Raw_WithoutBearer_Is401()
    {
        await using var gateway = await TestGateway.StartAsync();
        using var http = Raw(gateway, callerKey: "");

        using var response = await http.PostAsync("/v1/embeddings", new StringContent("""{"model":"openai/x","input":"x"}""", Encoding.UTF8, "application/json")).DefaultTimeout();

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Empty(gateway.OpenAI.Requests);
    }
}
