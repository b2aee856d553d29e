using IntegrationApi.Chat;
using IntegrationApi.Embeddings;
using IntegrationApi.Providers.OpenAI;
using IntegrationApi.Providers.OpenAICompatible;
using Microsoft.Extensions.Options;

namespace IntegrationApi.Providers.AzureOpenAI;

/// <summary>
/// Azure OpenAI embeddings: <c>{endpoint}/openai/deployments/{model.name}/embeddings?api-version=…</c> with <c>api-key</c>;
/// the OpenAI body without <c>model</c> (the deployment is in the path).
/// </summary>
internal sealed class AzureOpenAIEmbeddings(HttpClient client, IOptions<AzureOpenAIOptions> options) : IEmbeddingProvider
{
    private readonly AzureOpenAIOptions _options = options.Value;

    public string Name => ProviderNames.Azure;

    public int MaxBatchSize(EmbeddingOptions options) => OpenAIEmbeddingLimits.MaxBatchSize(options);

    public async Task<EmbeddingBatch> EmbedAsync(EmbeddingRequest request, CancellationToken cancellationToken)
    {
        var endpoint = AzureEndpoint.Validate(request.Credential.Require("endpoint"), _options);
        var deployment = UrlSegment.Escape(request.Options.Model, $"modelParameters[\"{ModelParameters.Name}\"] (the Azure deployment)");
        var url = new Uri(endpoint, $"openai/deployments/{deployment}/embeddings?api-version={Uri.EscapeDataString(_options.ApiVersion)}");
        var body = OpenAIEmbeddingsWire.ToRequest(request, model: null);
        var message = new HttpRequestMessage(HttpMethod.Post, url) { Content = ProviderHttp.JsonBody(body, OpenAIEmbeddingsJsonContext.Default.OpenAIEmbeddingsRequest) };
        message.Headers.Add("api-key", request.Credential.Require("subscription_key"));
        var answer = await ProviderJson.SendAsync(client, message, Name, OpenAIChatWire.DescribeError,
            OpenAIEmbeddingsJsonContext.Default.OpenAIEmbeddingsResponse, cancellationToken).ConfigureAwait(false);
        return OpenAIEmbeddingsWire.FromResponse(answer, request.Inputs.Count, Name);
    }
}
