using IntegrationApi.Embeddings;
using IntegrationApi.Providers.OpenAICompatible;
using Microsoft.Extensions.Options;

namespace IntegrationApi.Providers.OpenAI;

/// <summary>OpenAI embeddings: <c>POST /v1/embeddings</c> with the caller's encoding format (float or base64).</summary>
internal sealed class OpenAIEmbeddings(HttpClient client, IOptions<OpenAIOptions> options) : IEmbeddingProvider
{
    public const string DefaultModel = "text-embedding-3-small";

    private readonly Uri _endpoint = new(options.Value.ToBaseUri(), "embeddings");

    public string Name => ProviderNames.OpenAI;

    /// <summary>
    /// OpenAI takes 2048 inputs per call; as numbers, 2048 vectors of 3072 dimensions would pass the response cap, so a
    /// float batch is a quarter of that (base64 is a quarter of the bytes).
    /// </summary>
    public int MaxBatchSize(EmbeddingOptions options) => OpenAIEmbeddingLimits.MaxBatchSize(options);

    public Task<EmbeddingBatch> EmbedAsync(EmbeddingRequest request, CancellationToken cancellationToken)
    {
        var body = OpenAIEmbeddingsWire.ToRequest(request, request.Options.Model ?? DefaultModel);
        var message = new HttpRequestMessage(HttpMethod.Post, _endpoint) { Content = ProviderHttp.JsonBody(body, OpenAIEmbeddingsJsonContext.Default.OpenAIEmbeddingsRequest) };
        OpenAIProvider.Authorize(message, request.Credential);
        return SendAsync(message, request.Inputs.Count, cancellationToken);
    }

    private async Task<EmbeddingBatch> SendAsync(HttpRequestMessage message, int inputs, CancellationToken cancellationToken) =>
        OpenAIEmbeddingsWire.FromResponse(await ProviderJson.SendAsync(client, message, Name, OpenAIChatWire.DescribeError,
            OpenAIEmbeddingsJsonContext.Default.OpenAIEmbeddingsResponse, cancellationToken).ConfigureAwait(false), inputs, Name);
}

/// <summary>The batch limits of OpenAI's embeddings API (Azure OpenAI has the same).</summary>
internal static class OpenAIEmbeddingLimits
{
    /// <summary>Inputs per call: 2048 (OpenAI's limit) in base64, 512 as numbers.</summary>
    public static int MaxBatchSize(EmbeddingOptions options) => options.Encoding == EmbeddingEncoding.Base64 ? 2048 : 512;
}
