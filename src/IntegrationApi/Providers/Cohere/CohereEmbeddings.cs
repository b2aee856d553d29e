using System.Net.Http.Headers;
using System.Text.Json.Serialization;
using IntegrationApi.Chat;
using IntegrationApi.Embeddings;
using IntegrationApi.Reranking;
using Microsoft.Extensions.Options;

namespace IntegrationApi.Providers.Cohere;

/// <summary>
/// Cohere v2 embed (<c>POST /v2/embed</c>, https://docs.cohere.com/reference/embed): at most 96 texts, an <c>input_type</c>
/// (required by v3+ models; <c>search_document</c> when the caller gives none), float embeddings, billed input tokens.
/// </summary>
internal sealed class CohereEmbeddings(HttpClient client, IOptions<CohereOptions> options) : IEmbeddingProvider
{
    public const string DefaultModel = "embed-v4.0";

    private readonly Uri _endpoint = new(options.Value.ToBaseUri(), "embed");

    public string Name => ProviderNames.Cohere;

    public int MaxBatchSize(EmbeddingOptions options) => 96;

    public async Task<EmbeddingBatch> EmbedAsync(EmbeddingRequest request, CancellationToken cancellationToken)
    {
        var o = request.Options;
        var body = new CohereEmbedRequest(o.Model ?? DefaultModel, request.Inputs, o.InputKind ?? "search_document", ["float"], o.Dimensions, o.Truncation);
        var message = new HttpRequestMessage(HttpMethod.Post, _endpoint) { Content = ProviderHttp.JsonBody(body, CohereOperationsJsonContext.Default.CohereEmbedRequest) };
        message.Headers.Authorization = new AuthenticationHeaderValue("Bearer", request.Credential.Require("key"));
        var answer = await ProviderJson.SendAsync(client, message, Name, CohereWire.DescribeError, CohereOperationsJsonContext.Default.CohereEmbedResponse, cancellationToken).ConfigureAwait(false);
        var vectors = answer.Embeddings?.Float ?? throw new ProviderException(ProviderErrorKind.BadResponse, Name, $"{Name} answered no float embeddings", retryable: false);
        var tokens = answer.Meta?.BilledUnits?.InputTokens;
        return EmbeddingBatch.InOrder(Name, request.Inputs.Count, vectors.Select((v, i) => (i, v)), tokens is { } t ? new TokenUsage(Input: t, Total: t) : null);
    }
}

/// <summary>
/// Cohere v2 rerank (<c>POST /v2/rerank</c>, https://docs.cohere.com/reference/rerank): documents as texts (at most 1000 per
/// call), <c>top_n</c>, <c>max_tokens_per_doc</c>; results best first with the document's index and its relevance score.
/// </summary>
internal sealed class CohereRerank(HttpClient client, IOptions<CohereOptions> options) : IRerankProvider
{
    public const string DefaultModel = "rerank-v3.5";

    private readonly Uri _endpoint = new(options.Value.ToBaseUri(), "rerank");

    public string Name => ProviderNames.Cohere;

    public int MaxDocuments => 1000;

    public async Task<RerankResult> RerankAsync(RerankRequest request, CancellationToken cancellationToken)
    {
        var o = request.Options;
        var body = new CohereRerankRequest(o.Model ?? DefaultModel, request.Query, request.Documents, o.TopN, o.MaxTokensPerDoc);
        var message = new HttpRequestMessage(HttpMethod.Post, _endpoint) { Content = ProviderHttp.JsonBody(body, CohereOperationsJsonContext.Default.CohereRerankRequest) };
        message.Headers.Authorization = new AuthenticationHeaderValue("Bearer", request.Credential.Require("key"));
        var answer = await ProviderJson.SendAsync(client, message, Name, CohereWire.DescribeError, CohereOperationsJsonContext.Default.CohereRerankResponse, cancellationToken).ConfigureAwait(false);
        var hits = (answer.Results ?? []).Select(r => new RerankHit(r.Index, r.RelevanceScore)).ToArray();
        if (hits.Any(h => h.Index < 0 || h.Index >= request.Documents.Count) || hits.DistinctBy(h => h.Index).Count() != hits.Length)
            throw new ProviderException(ProviderErrorKind.BadResponse, Name, $"{Name} answered a result index outside the {request.Documents.Count} documents", retryable: false);
        return new RerankResult(hits, null);
    }
}

internal sealed record CohereEmbedRequest(
    [property: JsonPropertyName("model")] string Model,
    [property: JsonPropertyName("texts")] IReadOnlyList<string> Texts,
    [property: JsonPropertyName("input_type")] string InputType,
    [property: JsonPropertyName("embedding_types")] IReadOnlyList<string> EmbeddingTypes,
    [property: JsonPropertyName("output_dimension")] int? OutputDimension,
    [property: JsonPropertyName("truncate")] string? Truncate);

internal sealed record CohereEmbedResponse(
    [property: JsonPropertyName("id")] string? Id,
    [property: JsonPropertyName("embeddings")] CohereEmbeddingsByType? Embeddings,
    [property: JsonPropertyName("meta")] CohereMeta? Meta);

internal sealed record CohereEmbeddingsByType([property: JsonPropertyName("float")] IReadOnlyList<float[]>? Float);

internal sealed record CohereMeta([property: JsonPropertyName("billed_units")] CohereBilledUnits? BilledUnits);

internal sealed record CohereBilledUnits(
    [property: JsonPropertyName("input_tokens")] long? InputTokens,
    [property: JsonPropertyName("search_units")] long? SearchUnits);

internal sealed record CohereRerankRequest(
    [property: JsonPropertyName("model")] string Model,
    [property: JsonPropertyName("query")] string Query,
    [property: JsonPropertyName("documents")] IReadOnlyList<string> Documents,
    [property: JsonPropertyName("top_n")] int? TopN,
    [property: JsonPropertyName("max_tokens_per_doc")] int? MaxTokensPerDoc);

internal sealed record CohereRerankResponse(
    [property: JsonPropertyName("results")] IReadOnlyList<CohereRerankResult>? Results,
    [property: JsonPropertyName("meta")] CohereMeta? Meta);

internal sealed record CohereRerankResult(
    [property: JsonPropertyName("index")] int Index,
    [property: JsonPropertyName("relevance_score")] double RelevanceScore);

[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(CohereEmbedRequest))]
[JsonSerializable(typeof(CohereEmbedResponse))]
[JsonSerializable(typeof(CohereRerankRequest))]
[JsonSerializable(typeof(CohereRerankResponse))]
internal sealed partial class CohereOperationsJsonContext : JsonSerializerContext;
