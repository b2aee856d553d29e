using IntegrationApi.Client;
using IntegrationApi.Testing;
using IntegrationApi.Tests.Infrastructure;
using Microsoft.Extensions.AI;

namespace IntegrationApi.Tests.Client;

/// <summary>The Microsoft.Extensions.AI embedding generator over the gateway's Embedding.</summary>
[Collection(AuditStores.Collection)]
public sealed class IntegrationEmbeddingGeneratorTests
{
    private static IntegrationClient NewClient(TestGateway gateway) =>
        new(gateway.Channel, new IntegrationClientOptions { Headers = () => TestGateway.AuthHeaders() });

    [Fact]
    public async Task GenerateAsync_VectorsInInputOrder_WithUsage()
    {
        await using var gateway = await TestGateway.StartAsync();
        await using var client = NewClient(gateway);
        IEmbeddingGenerator<string, Embedding<float>> generator =
            new IntegrationEmbeddingGenerator(client, "openai", new Dictionary<string, string> { ["key"] = "test-key" }, "text-embedding-3-small");

        var embeddings = await generator.GenerateAsync(["hello", "a longer text"], new EmbeddingGenerationOptions { Dimensions = 8 }).DefaultTimeout();

        Assert.Equal(2, embeddings.Count);
        Assert.Equal(8, embeddings[0].Vector.Length);
        Assert.Equal(5f, embeddings[0].Vector.Span[0]); // the fake's component 0 is the text's length
        Assert.Equal(13f, embeddings[1].Vector.Span[0]);
        Assert.NotNull(embeddings.Usage?.InputTokenCount);
        var sent = gateway.OpenAI.Requests.Single().Json!.Value;
        Assert.Equal("base64", sent.GetProperty("encoding_format").GetString()); // exact float32, compact
        Assert.Equal(8, sent.GetProperty("dimensions").GetInt32());
        Assert.Equal("integration-api", generator.GetService<EmbeddingGeneratorMetadata>()?.ProviderName);

        // The single-value extension of Microsoft.Extensions.AI works too.
        var one = await generator.GenerateVectorAsync("xyz").DefaultTimeout();
        Assert.Equal(3f, one.Span[0]);
    }

    [Fact]
    public async Task GenerateAsync_ProviderRefuses_IntegrationRequestExceptionWithTheCode()
    {
        await using var gateway = await TestGateway.StartAsync();
        await using var client = NewClient(gateway);
        var generator = new IntegrationEmbeddingGenerator(client, "cohere", new Dictionary<string, string> { ["key"] = "wrong-key-123" });

        var error = await Assert.ThrowsAsync<IntegrationRequestException>(() => generator.GenerateAsync(["hello"]).DefaultTimeout());
        Assert.Equal(401, error.Code);
    }
}
