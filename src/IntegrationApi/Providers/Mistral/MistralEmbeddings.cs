using System.Net.Http.Headers;
using IntegrationApi.Embeddings;
using IntegrationApi.Providers.OpenAICompatible;
using Microsoft.Extensions.Options;

namespace IntegrationApi.Providers.Mistral;

/// <summary>
/// Mistral embeddings (<c>POST /v1/embeddings</c>, https://docs.mistral.ai/api/#tag/embeddings): the OpenAI body, numbers
/// only (no <c>encoding_format</c>: base64 for the caller is made here); <c>dimensions</c> goes out as <c>output_dimension</c>.
/// </summary>
internal sealed class MistralEmbeddings(HttpClient client, IOptions<MistralOptions> options) : IEmbeddingProvider
{
    public const string DefaultModel = "mistral-embed";

    private readonly Uri _endpoint = new(options.Value.ToBaseUri(), "embeddings");

    public string Name => ProviderNames.Mistral;

    /// <summary>Mistral limits a call by tokens (16 384 for mistral-embed) rather than by count; 128 short texts stay well under it.</summary>
    public int MaxBatchSize(EmbeddingOptions options) => 128;

    public async Task<EmbeddingBatch> EmbedAsync(EmbeddingRequest request, CancellationToken cancellationToken)
    {
        var body = OpenAIEmbeddingsWire.ToRequest(request, request.Options.Model ?? DefaultModel, sendEncoding: false) with
        {
            Dimensions = null, OutputDimension = request.Options.Dimensions, User = null,
        };
        var message = new HttpRequestMessage(HttpMethod.Post, _endpoint) { Content = ProviderHttp.JsonBody(body, OpenAIEmbeddingsJsonContext.Default.OpenAIEmbeddingsRequest) };
        message.Headers.Authorization = new AuthenticationHeaderValue("Bearer", request.Credential.Require("key"));
        var answer = await ProviderJson.SendAsync(client, message, Name, OpenAIChatWire.DescribeError,
            OpenAIEmbeddingsJsonContext.Default.OpenAIEmbeddingsResponse, cancellationToken).ConfigureAwait(false);
        return OpenAIEmbeddingsWire.FromResponse(answer, request.Inputs.Count, Name);
    }
}
