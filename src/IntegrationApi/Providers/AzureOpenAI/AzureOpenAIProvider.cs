using IntegrationApi.Chat;
using IntegrationApi.Providers.OpenAICompatible;
using IntegrationApi.Providers.Sse;
using Microsoft.Extensions.Options;

namespace IntegrationApi.Providers.AzureOpenAI;

/// <summary>Settings for Azure OpenAI (<c>Providers:Azure</c>).</summary>
public sealed class AzureOpenAIOptions : ProviderOptions
{
    /// <summary>The <c>api-version</c> query parameter.</summary>
    public string ApiVersion { get; set; } = "2024-10-21";

    /// <summary>The <c>api-version</c> of Azure AI Content Safety (GetModeration).</summary>
    public string ContentSafetyApiVersion { get; set; } = "2024-09-01";

    private static readonly string[] DefaultEndpointSuffixes = [".openai.azure.com", ".cognitiveservices.azure.com", ".services.ai.azure.com"];

    /// <summary>
    /// Host suffixes a credential's <c>endpoint</c> may have (https only), so that a caller cannot make the
    /// service fetch an arbitrary URL. Unset means the defaults; a configured list replaces them (the binder
    /// would append to a list that starts with the defaults, so an operator could never narrow it).
    /// </summary>
    public List<string>? AllowedEndpointSuffixes { get; set; }

    /// <summary>The effective suffix list.</summary>
    public IReadOnlyList<string> EndpointSuffixes => AllowedEndpointSuffixes is { Count: > 0 } suffixes ? suffixes : DefaultEndpointSuffixes;

    /// <summary>Also allow http://127.0.0.1 / localhost endpoints (tests and local proxies only).</summary>
    public bool AllowLoopbackEndpoints { get; set; }
}

/// <summary>
/// Azure OpenAI: the OpenAI-compatible dialect at <c>{endpoint}/openai/deployments/{model.name}/chat/completions</c>
/// with an <c>api-key</c> header; endpoint and key come from the credential (<c>endpoint</c>, <c>subscription_key</c>).
/// </summary>
internal sealed class AzureOpenAIProvider(HttpClient client, IOptions<AzureOpenAIOptions> options) : IChatProvider, ICredentialVerifier
{
    private readonly AzureOpenAIOptions _options = options.Value;

    public string Name => ProviderNames.Azure;

    public IAsyncEnumerable<ChatUpdate> GetStreamingResponseAsync(ChatRequest request, CancellationToken cancellationToken)
    {
        var body = OpenAIChatWire.ToChatRequest(request, OpenAIDialect.Azure);
        var endpoint = AzureEndpoint.Validate(request.Credential.Require("endpoint"), _options);
        var deployment = UrlSegment.Escape(body.Model, $"modelParameters[\"{ModelParameters.Name}\"] (the Azure deployment)");
        var url = new Uri(endpoint, $"openai/deployments/{deployment}/chat/completions?api-version={Uri.EscapeDataString(_options.ApiVersion)}");
        var message = new HttpRequestMessage(HttpMethod.Post, url) { Content = OpenAIChatStream.ToContent(body) };
        message.Headers.Add("api-key", request.Credential.Require("subscription_key"));
        return SseChatStream.StreamAsync(client, message, OpenAIChatStream.Dialect, new SseContext(Name), cancellationToken);
    }

    /// <summary><c>GET {endpoint}/openai/models</c> with the key.</summary>
    public Task VerifyAsync(ProviderCredential credential, CancellationToken cancellationToken)
    {
        var endpoint = AzureEndpoint.Validate(credential.Require("endpoint"), _options);
        var message = new HttpRequestMessage(HttpMethod.Get, new Uri(endpoint, $"openai/models?api-version={Uri.EscapeDataString(_options.ApiVersion)}"));
        message.Headers.Add("api-key", credential.Require("subscription_key"));
        return ProviderHttp.VerifyAsync(client, message, Name, OpenAIChatWire.DescribeError, cancellationToken);
    }
}

/// <summary>The allow-list check of a caller-supplied Azure endpoint.</summary>
internal static class AzureEndpoint
{
    /// <summary>The endpoint as a base URI ending in '/', or a 400 when its scheme or host is not allowed.</summary>
    public static Uri Validate(string endpoint, AzureOpenAIOptions options)
    {
        if (!Uri.TryCreate(endpoint, UriKind.Absolute, out var uri) || uri.UserInfo.Length > 0 || uri.Query.Length > 0)
            throw new ChatRequestException("credential.value.endpoint must be an absolute URL such as https://my-resource.openai.azure.com");
        var allowed = uri.Scheme == Uri.UriSchemeHttps && options.EndpointSuffixes.Any(s => uri.Host.EndsWith(s, StringComparison.OrdinalIgnoreCase) && uri.Host.Length > s.Length)
            || options.AllowLoopbackEndpoints && uri.IsLoopback && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps);
        if (!allowed)
            throw new ChatRequestException($"credential.value.endpoint host \"{uri.Host}\" is not an allowed Azure OpenAI endpoint (https, {string.Join(", ", options.EndpointSuffixes)})");
        var text = uri.GetLeftPart(UriPartial.Path);
        return new Uri(text.EndsWith('/') ? text : text + "/");
    }
}
