using IntegrationApi.Contracts;

namespace IntegrationApi.Client;

/// <summary>The non-chat RPCs of <c>LlmService</c>: one unary call each (no stream to share).</summary>
public sealed partial class IntegrationClient
{
    /// <summary><c>Embedding</c> on <c>LlmService</c> (<c>request.providerName</c> picks the provider); failures come back with <c>success=false</c>.</summary>
    public async Task<EmbeddingResponse> EmbeddingAsync(EmbeddingRequest request, CancellationToken cancellationToken = default) =>
        await _client.EmbeddingAsync(request, _options.Headers(), cancellationToken: cancellationToken).ConfigureAwait(false);

    /// <summary><c>Reranking</c> on <c>LlmService</c>.</summary>
    public async Task<RerankingResponse> RerankingAsync(RerankingRequest request, CancellationToken cancellationToken = default) =>
        await _client.RerankingAsync(request, _options.Headers(), cancellationToken: cancellationToken).ConfigureAwait(false);

    /// <summary><c>GetModeration</c> on <c>LlmService</c>.</summary>
    public async Task<GetModerationResponse> GetModerationAsync(GetModerationRequest request, CancellationToken cancellationToken = default) =>
        await _client.GetModerationAsync(request, _options.Headers(), cancellationToken: cancellationToken).ConfigureAwait(false);
}
