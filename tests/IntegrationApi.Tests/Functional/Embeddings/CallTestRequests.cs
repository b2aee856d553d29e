using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using IntegrationApi.Contracts.Common;
using IntegrationApi.Tests.Infrastructure;
using Proto = IntegrationApi.Contracts;

namespace IntegrationApi.Tests.Functional.Embeddings;

/// <summary>Embedding, Reranking and GetModeration requests for the tests, pointed at the gateway's fakes.</summary>
public static class CallTestRequests
{
    /// <summary>The providers with Embedding and the <c>model.name</c> each test sends (null: the adapter's default).</summary>
    public static readonly IReadOnlyDictionary<string, string?> EmbeddingModels = new Dictionary<string, string?>
    {
        ["openai"] = null, ["azure"] = "my-embedding-deployment", ["mistral"] = null, ["gemini"] = null, ["vertexai"] = null, ["cohere"] = null,
    };

    public static IEnumerable<object[]> EmbeddingProviders => EmbeddingModels.Keys.Select(p => new object[] { p });

    public static Proto.EmbeddingRequest Embedding(TestGateway gateway, string provider, IEnumerable<KeyValuePair<int, string>> content, string key = "test-key")
    {
        var request = new Proto.EmbeddingRequest { Credential = TestRequests.Credential(provider, key, gateway.Fake(provider)) };
        foreach (var (k, v) in content) request.Content[k] = v;
        if (EmbeddingModels.GetValueOrDefault(provider) is { } model) request.ModelParameters["model.name"] = TestRequests.Param(Value.ForString(model));
        return request;
    }

    public static Proto.EmbeddingRequest Embedding(TestGateway gateway, string provider, params string[] texts) =>
        Embedding(gateway, provider, texts.Select((t, i) => KeyValuePair.Create(i, t)));

    public static Proto.EmbeddingRequest With(this Proto.EmbeddingRequest request, string key, Value value)
    {
        request.ModelParameters[key] = TestRequests.Param(value);
        return request;
    }

    public static Task<Proto.EmbeddingResponse> EmbedAsync(this TestGateway gateway, string? provider, Proto.EmbeddingRequest request,
        Grpc.Core.Metadata? headers = null, CancellationToken cancellationToken = default) =>
        gateway.CallAsync<Proto.EmbeddingRequest, Proto.EmbeddingResponse>(provider, "Embedding", request, headers, cancellationToken).DefaultTimeout();

    public static Proto.GetModerationRequest NewModeration(TestGateway gateway, string provider, string text, string key = "test-key") => new()
    {
        Credential = TestRequests.Credential(provider, key, gateway.Fake(provider)),
        Content = new Content { ContentType = "text", ContentFormat = "raw", Content_ = ByteString.CopyFromUtf8(text) },
    };

    public static Task<Proto.GetModerationResponse> ModerateAsync(this TestGateway gateway, string? provider, Proto.GetModerationRequest request,
        Grpc.Core.Metadata? headers = null, CancellationToken cancellationToken = default) =>
        gateway.CallAsync<Proto.GetModerationRequest, Proto.GetModerationResponse>(provider, "GetModeration", request, headers, cancellationToken).DefaultTimeout();

    public static Proto.RerankingRequest NewReranking(TestGateway gateway, string provider, string query, params string[] documents)
    {
        var request = new Proto.RerankingRequest { Credential = TestRequests.Credential(provider, "test-key", gateway.Fake(provider)), Query = query };
        for (var i = 0; i < documents.Length; i++)
            request.Content[i] = new Content { ContentType = "text", Content_ = ByteString.CopyFromUtf8(documents[i]) };
        return request;
    }

    public static Task<Proto.RerankingResponse> RerankAsync(this TestGateway gateway, string? provider, Proto.RerankingRequest request,
        Grpc.Core.Metadata? headers = null, CancellationToken cancellationToken = default) =>
        gateway.CallAsync<Proto.RerankingRequest, Proto.RerankingResponse>(provider, "Reranking", request, headers, cancellationToken).DefaultTimeout();

    /// <summary>A metric's value, or null.</summary>
    public static string? MetricOf(this IEnumerable<Metric> metrics, string name) => metrics.FirstOrDefault(m => m.Name == name)?.Value;
}
