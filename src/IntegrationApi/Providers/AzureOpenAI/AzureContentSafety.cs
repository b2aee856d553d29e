using System.Text.Json.Serialization;
using IntegrationApi.Moderation;
using IntegrationApi.Providers.OpenAICompatible;
using Microsoft.Extensions.Options;

namespace IntegrationApi.Providers.AzureOpenAI;

/// <summary>
/// Moderation on Azure: Azure OpenAI has no moderation API, so this is Azure AI Content Safety
/// (<c>POST {endpoint}/contentsafety/text:analyze?api-version=…</c>, https://learn.microsoft.com/rest/api/contentsafety/text-operations/analyze-text)
/// on the credential's allow-listed <c>endpoint</c> with <c>Ocp-Apim-Subscription-Key</c>. Severities are the values;
/// the text is flagged when any category reaches <c>model.flag_severity</c>.
/// </summary>
internal sealed class AzureContentSafety(HttpClient client, IOptions<AzureOpenAIOptions> options) : IModerationProvider
{
    private readonly AzureOpenAIOptions _options = options.Value;

    public string Name => ProviderNames.Azure;

    /// <summary>Content Safety analyses at most 10 000 characters per call.</summary>
    public int MaxTextLength => 10_000;

    public async Task<ModerationResult> ModerateAsync(ModerationRequest request, CancellationToken cancellationToken)
    {
        var endpoint = AzureEndpoint.Validate(request.Credential.Require("endpoint"), _options);
        var url = new Uri(endpoint, $"contentsafety/text:analyze?api-version={Uri.EscapeDataString(_options.ContentSafetyApiVersion)}");
        var body = new ContentSafetyRequest(request.Text, request.Options.Categories, request.Options.OutputType);
        var message = new HttpRequestMessage(HttpMethod.Post, url) { Content = ProviderHttp.JsonBody(body, ContentSafetyJsonContext.Default.ContentSafetyRequest) };
        message.Headers.Add("Ocp-Apim-Subscription-Key", request.Credential.Require("subscription_key"));
        var answer = await ProviderJson.SendAsync(client, message, Name, OpenAIChatWire.DescribeError,
            ContentSafetyJsonContext.Default.ContentSafetyResponse, cancellationToken).ConfigureAwait(false);
        return FromResponse(answer, request.Options.FlagSeverity, Name);
    }

    /// <summary>Each category's severity, flagged when one reaches <paramref name="flagSeverity"/>.</summary>
    public static ModerationResult FromResponse(ContentSafetyResponse answer, int flagSeverity, string provider)
    {
        if (answer.CategoriesAnalysis is not { } analysis)
            throw new ProviderException(ProviderErrorKind.BadResponse, provider, $"{provider} answered no categoriesAnalysis", retryable: false);
        var scores = analysis.Where(a => a.Category is not null).Select(a => new ModerationScore(a.Category!, a.Severity ?? 0)).ToArray();
        return new ModerationResult(scores.Any(s => s.Value >= flagSeverity), scores);
    }
}

internal sealed record ContentSafetyRequest(
    [property: JsonPropertyName("text")] string Text,
    [property: JsonPropertyName("categories")] IReadOnlyList<string>? Categories,
    [property: JsonPropertyName("outputType")] string? OutputType);

internal sealed record ContentSafetyResponse(
    [property: JsonPropertyName("categoriesAnalysis")] IReadOnlyList<ContentSafetyCategory>? CategoriesAnalysis);

internal sealed record ContentSafetyCategory(
    [property: JsonPropertyName("category")] string? Category,
    [property: JsonPropertyName("severity")] int? Severity);

[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(ContentSafetyRequest))]
[JsonSerializable(typeof(ContentSafetyResponse))]
internal sealed partial class ContentSafetyJsonContext : JsonSerializerContext;
