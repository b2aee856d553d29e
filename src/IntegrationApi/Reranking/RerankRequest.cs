using IntegrationApi.Chat;
using IntegrationApi.Engine;

namespace IntegrationApi.Reranking;

/// <summary>One provider call's worth of documents to rank against a query, provider-neutral.</summary>
public sealed record RerankRequest(string Query, IReadOnlyList<string> Documents, RerankOptions Options, ProviderCredential Credential);

/// <summary>The <c>model.*</c> parameters of a rerank request.</summary>
/// <param name="Model"><c>model.name</c>; null means the provider's default.</param>
/// <param name="TopN"><c>model.top_n</c>: how many of the best documents to return; null means all.</param>
/// <param name="MaxTokensPerDoc"><c>model.max_tokens_per_doc</c>: longer documents are cut.</param>
public sealed record RerankOptions(string? Model, int? TopN, int? MaxTokensPerDoc)
{
    public const string TopNKey = "model.top_n";
    public const string MaxTokensPerDocKey = "model.max_tokens_per_doc";

    /// <summary>Reads the parameters; the original's v1-only keys are a 400 naming their replacement.</summary>
    public static RerankOptions From(ModelParameters p)
    {
        if (p.Keys.Contains("model.max_chunks_per_doc"))
            throw new ChatRequestException($"modelParameters[\"model.max_chunks_per_doc\"] belongs to Cohere's retired v1 rerank; use \"{MaxTokensPerDocKey}\"");
        if (p.Keys.Contains("model.rank_fields"))
            throw new ChatRequestException("modelParameters[\"model.rank_fields\"] belongs to Cohere's retired v1 rerank; send each document as one text");
        var topN = p.GetInt64(TopNKey);
        if (topN is < 1 or > 100_000) throw new ChatRequestException($"modelParameters[\"{TopNKey}\"] must be at least 1");
        var max = p.GetInt64(MaxTokensPerDocKey);
        if (max is < 1 or > 1_000_000) throw new ChatRequestException($"modelParameters[\"{MaxTokensPerDocKey}\"] must be between 1 and 1000000");
        return new RerankOptions(p.GetString(ModelParameters.Name), (int?)topN, (int?)max);
    }
}

/// <summary>One document's relevance: its index in the call's documents and its score (higher is more relevant).</summary>
public readonly record struct RerankHit(int Index, double Score);

/// <summary>What one rerank call answered, best first.</summary>
public sealed record RerankResult(IReadOnlyList<RerankHit> Hits, TokenUsage? Usage) : ICallResult;

/// <summary>An adapter that can rank documents against a query.</summary>
public interface IRerankProvider
{
    string Name { get; }

    /// <summary>Most documents one call may carry; more are split into calls whose best hits are merged.</summary>
    int MaxDocuments { get; }

    /// <summary>Ranks the documents with one provider call.</summary>
    Task<RerankResult> RerankAsync(RerankRequest request, CancellationToken cancellationToken);
}
