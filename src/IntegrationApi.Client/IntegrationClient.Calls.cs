using Grpc.Core;
using IntegrationApi.Contracts;

namespace IntegrationApi.Client;

/// <summary>The non-chat RPCs: one unary call each (no stream to share).</summary>
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

    /// <summary>
    /// <c>VerifyCredential</c> on the service of <paramref name="provider"/> (<c>openai</c>, <c>azure</c>, <c>anthropic</c>, <c>gemini</c>,
    /// <c>vertexai</c>, <c>cohere</c>, <c>mistral</c>, <c>replicate</c>): <c>success</c> says whether the provider accepted <paramref name="credential"/>.
    /// </summary>
    public async Task<VerifyCredentialResponse> VerifyCredentialAsync(string provider, Credential credential, CancellationToken cancellationToken = default)
    {
        var request = new VerifyCredentialRequest { Credential = credential };
        var options = new CallOptions(_options.Headers(), cancellationToken: cancellationToken);
        return await (provider.ToLowerInvariant() switch
        {
            "openai" => new OpenAiService.OpenAiServiceClient(_invoker).VerifyCredentialAsync(request, options),
            "azure" => new AzureService.AzureServiceClient(_invoker).VerifyCredentialAsync(request, options),
            "anthropic" => new AnthropicService.AnthropicServiceClient(_invoker).VerifyCredentialAsync(request, options),
            "gemini" => new GeminiService.GeminiServiceClient(_invoker).VerifyCredentialAsync(request, options),
            "vertexai" => new VertexAiService.VertexAiServiceClient(_invoker).VerifyCredentialAsync(request, options),
            "cohere" => new CohereService.CohereServiceClient(_invoker).VerifyCredentialAsync(request, options),
            "mistral" => new MistralService.MistralServiceClient(_invoker).VerifyCredentialAsync(request, options),
            "replicate" => new ReplicateService.ReplicateServiceClient(_invoker).VerifyCredentialAsync(request, options),
            _ => throw new ArgumentException($"unknown provider \"{provider}\" (openai, azure, anthropic, gemini, vertexai, cohere, mistral, replicate)", nameof(provider)),
        }).ConfigureAwait(false);
    }

    /// <summary><c>GetAllAuditLog</c> on <c>AuditLoggingService</c>: the caller's project's audit records, a page at a time.</summary>
    public async Task<GetAllAuditLogResponse> GetAllAuditLogAsync(GetAllAuditLogRequest request, CancellationToken cancellationToken = default) =>
        await new AuditLoggingService.AuditLoggingServiceClient(_invoker).GetAllAuditLogAsync(request, _options.Headers(), cancellationToken: cancellationToken).ConfigureAwait(false);

    /// <summary><c>GetAuditLog</c> on <c>AuditLoggingService</c>: one record of the caller's project.</summary>
    public async Task<GetAuditLogResponse> GetAuditLogAsync(GetAuditLogRequest request, CancellationToken cancellationToken = default) =>
        await new AuditLoggingService.AuditLoggingServiceClient(_invoker).GetAuditLogAsync(request, _options.Headers(), cancellationToken: cancellationToken).ConfigureAwait(false);
}
