using System.Net.Http.Headers;
using IntegrationApi.Chat;
using IntegrationApi.Embeddings;
using IntegrationApi.Providers.GoogleGenAI;
using Microsoft.Extensions.Options;

namespace IntegrationApi.Providers.VertexAI;

/// <summary>
/// Vertex AI embeddings: <c>projects/{project}/locations/{region}/publishers/google/models/{model}:predict</c> with the
/// service account's OAuth2 token; at most 250 texts per call (gemini-embedding-001 takes one), token counts per text.
/// </summary>
internal sealed class VertexAIEmbeddings(HttpClient client, VertexTokenSource tokens, IOptions<VertexAIOptions> options) : IEmbeddingProvider
{
    public const string DefaultModel = "text-embedding-005";

    private readonly string _baseTemplate = options.Value.BaseUrl.TrimEnd('/');

    public string Name => ProviderNames.VertexAI;

    public int MaxBatchSize(EmbeddingOptions options) =>
        (options.Model ?? DefaultModel).StartsWith("gemini-embedding", StringComparison.Ordinal) ? 1 : 250;

    public async Task<EmbeddingBatch> EmbedAsync(EmbeddingRequest request, CancellationToken cancellationToken)
    {
        var project = VertexAIProvider.Segment(request.Credential, "project_id");
        var region = VertexAIProvider.Segment(request.Credential, "region");
        var model = UrlSegment.Escape(request.Options.Model ?? DefaultModel, $"modelParameters[\"{ModelParameters.Name}\"]");
        var body = GoogleEmbeddingsWire.ToPredict(request);
        var token = await tokens.GetTokenAsync(request.Credential, Name, cancellationToken).ConfigureAwait(false);
        var url = new Uri($"{VertexAIProvider.BaseFor(_baseTemplate, region)}/projects/{project}/locations/{region}/publishers/google/models/{model}:predict");
        var message = new HttpRequestMessage(HttpMethod.Post, url) { Content = ProviderHttp.JsonBody(body, GoogleEmbeddingsJsonContext.Default.VertexPredictRequest) };
        message.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        message.Headers.Add("x-goog-user-project", project);
        var answer = await ProviderJson.SendAsync(client, message, Name, GoogleWire.DescribeError, GoogleEmbeddingsJsonContext.Default.VertexPredictResponse, cancellationToken).ConfigureAwait(false);
        return GoogleEmbeddingsWire.FromPredict(answer, request.Inputs.Count, Name);
    }
}
