using System.Globalization;
using System.Text.Json;
using IntegrationApi.Testing;
using IntegrationApi.Tests.Infrastructure;
using Microsoft.AspNetCore.Http;
using static IntegrationApi.Tests.Functional.Embeddings.CallTestRequests;

namespace IntegrationApi.Tests.Functional.Embeddings;

/// <summary>
/// Real recorded provider answers (Recordings/embeddings/INDEX.md) served byte for byte by the provider's fake, through
/// the whole gateway: what comes out must be exactly what the recording holds.
/// </summary>
[Collection(AuditStores.Collection)]
public sealed class RecordedReplayTests
{
    private static string Recording(string name) => File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Recordings", "embeddings", name));

    /// <summary>Answers every request to <paramref name="pathEnd"/> with <paramref name="body"/> (200, JSON), as recorded.</summary>
    private static void Replay(FakeProviderServer fake, string pathEnd, string body) => fake.Intercept = async context =>
    {
        if (!context.Request.Path.Value!.EndsWith(pathEnd, StringComparison.Ordinal)) return false;
        context.Response.StatusCode = 200;
        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync(body, context.RequestAborted);
        return true;
    };

    [Theory]
    [InlineData("openai", "/embeddings")]
    [InlineData("azure", "/embeddings")] // Azure OpenAI answers the OpenAI shape
    [InlineData("mistral", "/embeddings")] // so does Mistral
    public async Task Embedding_RecordedOpenAIAnswer_EveryNumberAndTheUsage(string provider, string path)
    {
        var recorded = Recording("openai-embeddings-ada-002.json");
        using var expected = JsonDocument.Parse(recorded);
        await using var gateway = await TestGateway.StartAsync();
        Replay(gateway.Fake(provider), path, recorded);
        var response = await gateway.EmbedAsync(provider, Embedding(gateway, provider, "The food was delicious and the waiter..."));

        Assert.True(response.Success, response.Error?.ErrorMessage);
        var numbers = expected.RootElement.GetProperty("data")[0].GetProperty("embedding").EnumerateArray().Select(x => x.GetSingle()).ToArray();
        Assert.Equal(1536, numbers.Length);
        Assert.Equal(numbers, Assert.Single(response.Data).Embedding_.Select(x => (float)x));
        Assert.Equal("8", response.Metrics.MetricOf("INPUT_TOKEN"));
        Assert.Equal("8", response.Metrics.MetricOf("TOTAL_TOKEN"));
    }

    [Fact]
    public async Task Embedding_RecordedCohereAnswer_VectorsInOrderAndBilledTokens()
    {
        var recorded = Recording("cohere-embed-by-type-float.json");
        using var expected = JsonDocument.Parse(recorded);
        await using var gateway = await TestGateway.StartAsync();
        Replay(gateway.Fake("cohere"), "/embed", recorded);
        var response = await gateway.EmbedAsync("cohere", Embedding(gateway, "cohere", [KeyValuePair.Create(10, "foo bar"), KeyValuePair.Create(20, "bar foo")]));

        Assert.True(response.Success, response.Error?.ErrorMessage);
        var vectors = expected.RootElement.GetProperty("embeddings").GetProperty("float").EnumerateArray()
            .Select(v => v.EnumerateArray().Select(x => x.GetSingle()).ToArray()).ToArray();
        Assert.Equal([10, 20], response.Data.Select(d => d.Index));
        Assert.Equal(vectors[0], response.Data[0].Embedding_.Select(x => (float)x));
        Assert.Equal(vectors[1], response.Data[1].Embedding_.Select(x => (float)x));
        Assert.NotEqual(vectors[0], vectors[1]);
        var billed = expected.RootElement.GetProperty("meta").GetProperty("billed_units").GetProperty("input_tokens").GetInt64();
        Assert.Equal(billed.ToString(CultureInfo.InvariantCulture), response.Metrics.MetricOf("INPUT_TOKEN"));
    }

    [Fact]
    public async Task Reranking_RecordedCohereV2Answer_ScoresAndDocuments()
    {
        await using var gateway = await TestGateway.StartAsync();
        Replay(gateway.Fake("cohere"), "/rerank", Recording("cohere-rerank-v2.json"));
        var response = await gateway.RerankAsync("cohere", NewReranking(gateway, "cohere", "Test query", "This is a test document.", "Another test document."));

        Assert.True(response.Success, response.Error?.ErrorMessage);
        Assert.Equal([0, 1], response.Data.Select(r => r.Index));
        Assert.Equal([0.10415817, 0.0872602], response.Data.Select(r => r.RelevanceScore));
        Assert.Equal("Another test document.", response.Data[1].Content.Content_.ToStringUtf8());
    }

    [Fact]
    public async Task GetModeration_RecordedOpenAIAnswer_EveryCategoryScoreVerbatim()
    {
        var recorded = Recording("openai-moderations-text-moderation-007.json");
        using var expected = JsonDocument.Parse(recorded);
        await using var gateway = await TestGateway.StartAsync();
        Replay(gateway.OpenAI, "/moderations", recorded);
        var response = await gateway.ModerateAsync("openai", NewModeration(gateway, "openai", "Have a great day!"));

        Assert.True(response.Success, response.Error?.ErrorMessage);
        var scores = expected.RootElement.GetProperty("results")[0].GetProperty("category_scores").EnumerateObject().ToArray();
        Assert.Equal(scores.Length + 1, response.Data.Count);
        foreach (var score in scores)
            Assert.Equal(score.Value.GetDouble(), double.Parse(response.Data.Single(m => m.Name == score.Name).Value, CultureInfo.InvariantCulture));
        Assert.Equal("false", response.Data.Single(m => m.Name == "flagged").Value);
        Assert.Equal("7.682696434585523E-08", response.Data.Single(m => m.Name == "hate").Value); // round-trip decimal text
    }
}
