using System.Text.Json;
using Google.Protobuf.Reflection;
using IntegrationApi.Chat;
using IntegrationApi.Embeddings;
using IntegrationApi.Reranking;
using Proto = IntegrationApi.Contracts;

namespace IntegrationApi.Tests.Unit;

/// <summary>The additions for Embedding, Reranking and GetModeration keep the original numbers and add new ones only.</summary>
public sealed class CallContractTests
{
    [Fact]
    public void Proto_OriginalFieldsKept_ProviderNameAddedWithNewNumbers()
    {
        Assert.Equal(4, Proto.EmbeddingRequest.Descriptor.FindFieldByName("content").FieldNumber);
        Assert.Equal(7, Proto.EmbeddingRequest.Descriptor.FindFieldByName("providerName").FieldNumber);
        Assert.Equal(8, Proto.RerankingRequest.Descriptor.FindFieldByName("providerName").FieldNumber);
        Assert.Equal(7, Proto.GetModerationRequest.Descriptor.FindFieldByName("providerName").FieldNumber);
        Assert.Equal(3, Proto.Reranking.Descriptor.FindFieldByName("RelevanceScore").FieldNumber);
        Assert.Equal(3, Proto.Embedding.Descriptor.FindFieldByName("base64").FieldNumber);
        var file = Proto.IntegrationApiReflection.Descriptor;
        var llm = file.FindTypeByName<ServiceDescriptor>("LlmService");
        foreach (var name in new[] { "Embedding", "Reranking", "GetModeration" })
            Assert.False(llm.FindMethodByName(name) is not { IsClientStreaming: false, IsServerStreaming: false }, $"LlmService.{name} must be unary");
        Assert.NotNull(file.FindTypeByName<ServiceDescriptor>("MistralService").FindMethodByName("Embedding"));
    }

    private static ModelParameters Parameters(string json) =>
        new(JsonSerializer.Deserialize<Dictionary<string, JsonElement>>(json)!);

    [Fact]
    public void EmbeddingOptions_OriginalKeysAndLooseShapes()
    {
        var o = EmbeddingOptions.From(Parameters("""{"model.name":"m","model.output_dimensionality":"256","model.encoding_format":"BASE64","model.input_type":"search_query","model.truncate":"end"}"""));
        Assert.Equal(("m", 256, EmbeddingEncoding.Base64, "search_query", "RETRIEVAL_QUERY", "END"), (o.Model, o.Dimensions, o.Encoding, o.InputKind, o.Task, o.Truncation));
        Assert.Equal("CLUSTERING", EmbeddingOptions.From(Parameters("""{"model.task_type":"clustering"}""")).Task);
    }

    [Theory]
    [InlineData("""{"model.dimensions":-1}""", "model.dimensions")]
    [InlineData("""{"model.dimensions":1.5}""", "model.dimensions")]
    [InlineData("""{"model.encoding_format":"int8"}""", "model.encoding_format")]
    [InlineData("""{"model.input_type":"poem"}""", "model.input_type")]
    [InlineData("""{"model.task_type":"X/../Y"}""", "model.task_type")]
    public void EmbeddingOptions_BadValue_400NamingTheKey(string json, string key)
    {
        var error = Assert.Throws<ChatRequestException>(() => EmbeddingOptions.From(Parameters(json)));
        Assert.Contains(key, error.Message);
    }

    [Fact]
    public void RerankOptions_TopNAndRetiredV1Keys()
    {
        Assert.Equal(3, RerankOptions.From(Parameters("""{"model.top_n":"3"}""")).TopN);
        Assert.Contains("model.max_tokens_per_doc", Assert.Throws<ChatRequestException>(() => RerankOptions.From(Parameters("""{"model.max_chunks_per_doc":2}"""))).Message);
        Assert.Throws<ChatRequestException>(() => RerankOptions.From(Parameters("""{"model.top_n":0}""")));
    }

    [Fact]
    public void EmbeddingBatch_AGapOrADuplicateIndex_IsABadResponseNeverASilentGap()
    {
        var ok = EmbeddingBatch.InOrder("p", 2, [(1, [2f]), (0, [1f])], null);
        Assert.Equal([1f, 2f], ok.Vectors.Select(v => v[0]));
        var gap = Assert.Throws<Providers.ProviderException>(() => EmbeddingBatch.InOrder("p", 2, [(0, [1f])], null));
        Assert.Equal(Providers.ProviderErrorKind.BadResponse, gap.Kind);
        Assert.Throws<Providers.ProviderException>(() => EmbeddingBatch.InOrder("p", 2, [(0, [1f]), (0, [1f])], null));
        Assert.Throws<Providers.ProviderException>(() => EmbeddingBatch.InOrder("p", 1, [(5, [1f])], null));
    }
}
