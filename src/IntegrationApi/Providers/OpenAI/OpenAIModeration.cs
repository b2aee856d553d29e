using System.Text.Json.Serialization;
using IntegrationApi.Moderation;
using IntegrationApi.Providers.OpenAICompatible;
using Microsoft.Extensions.Options;

namespace IntegrationApi.Providers.OpenAI;

/// <summary>OpenAI moderation: <c>POST /v1/moderations</c> (https://platform.openai.com/docs/api-reference/moderations), one text.</summary>
internal sealed class OpenAIModeration(HttpClient client, IOptions<OpenAIOptions> options) : IModerationProvider
{
    public const string DefaultModel = "omni-moderation-latest";

    private readonly Uri _endpoint = new(options.Value.ToBaseUri(), "moderations");

    public string Name => ProviderNames.OpenAI;

    /// <summary>OpenAI documents no character limit (omni-moderation reads 32k tokens); this bounds what one call carries.</summary>
    public int MaxTextLength => 128 * 1024;

    public async Task<ModerationResult> ModerateAsync(ModerationRequest request, CancellationToken cancellationToken)
    {
        var body = new OpenAIModerationRequest(request.Options.Model ?? DefaultModel, request.Text);
        var message = new HttpRequestMessage(HttpMethod.Post, _endpoint) { Content = ProviderHttp.JsonBody(body, OpenAIModerationJsonContext.Default.OpenAIModerationRequest) };
        OpenAIProvider.Authorize(message, request.Credential);
        var answer = await ProviderJson.SendAsync(client, message, Name, OpenAIChatWire.DescribeError,
            OpenAIModerationJsonContext.Default.OpenAIModerationResponse, cancellationToken).ConfigureAwait(false);
        return FromResponse(answer, Name);
    }

    /// <summary>The one result's scores by category (in the provider's order) and its <c>flagged</c>.</summary>
    public static ModerationResult FromResponse(OpenAIModerationResponse answer, string provider)
    {
        if (answer.Results is not [var result, ..] || result.CategoryScores is null)
            throw new ProviderException(ProviderErrorKind.BadResponse, provider, $"{provider} answered no moderation result", retryable: false);
        return new ModerationResult(result.Flagged, [.. result.CategoryScores.Select(kv => new ModerationScore(kv.Key, kv.Value))]);
    }
}

internal sealed record OpenAIModerationRequest(
    [property: JsonPropertyName("model")] string Model,
    [property: JsonPropertyName("input")] string Input);

internal sealed record OpenAIModerationResponse(
    [property: JsonPropertyName("id")] string? Id,
    [property: JsonPropertyName("model")] string? Model,
    [property: JsonPropertyName("results")] IReadOnlyList<OpenAIModerationResult>? Results);

internal sealed record OpenAIModerationResult(
    [property: JsonPropertyName("flagged")] bool Flagged,
    [property: JsonPropertyName("category_scores")] IReadOnlyDictionary<string, double>? CategoryScores);

[JsonSerializable(typeof(OpenAIModerationRequest))]
[JsonSerializable(typeof(OpenAIModerationResponse))]
internal sealed partial class OpenAIModerationJsonContext : JsonSerializerContext;
