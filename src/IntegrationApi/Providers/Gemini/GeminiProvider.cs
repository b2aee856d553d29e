using IntegrationApi.Chat;
using IntegrationApi.Providers.GoogleGenAI;
using IntegrationApi.Providers.Sse;
using Microsoft.Extensions.Options;

namespace IntegrationApi.Providers.Gemini;

/// <summary>Settings for the Gemini API (<c>Providers:Gemini</c>).</summary>
public sealed class GeminiOptions : EndpointProviderOptions
{
    public GeminiOptions() => BaseUrl = "https://generativelanguage.googleapis.com/v1beta";
}

/// <summary>The Gemini API: <c>models/{model}:streamGenerateContent?alt=sse</c> with <c>x-goog-api-key</c> from <c>credential.key</c>.</summary>
internal sealed class GeminiProvider(HttpClient client, IOptions<GeminiOptions> options) : IChatProvider, ICredentialVerifier
{
    private readonly Uri _base = options.Value.ToBaseUri();

    public string Name => ProviderNames.Gemini;

    public IAsyncEnumerable<ChatUpdate> GetStreamingResponseAsync(ChatRequest request, CancellationToken cancellationToken)
    {
        var body = GoogleWire.ToGenerateContentRequest(request, Name);
        var model = UrlSegment.Escape(GoogleWire.Model(request), $"modelParameters[\"{ModelParameters.Name}\"]");
        var url = new Uri(_base, $"models/{model}:streamGenerateContent?alt=sse");
        var message = new HttpRequestMessage(HttpMethod.Post, url) { Content = GoogleStream.ToContent(body) };
        message.Headers.Add("x-goog-api-key", request.Credential.Require("key"));
        return SseChatStream.StreamAsync(client, message, GoogleStream.Dialect, new GoogleStreamContext(Name), cancellationToken);
    }

    /// <summary><c>GET models?pageSize=1</c>: the cheapest authenticated call (https://ai.google.dev/api/models#method:-models.list).</summary>
    public Task VerifyAsync(ProviderCredential credential, CancellationToken cancellationToken)
    {
        var message = new HttpRequestMessage(HttpMethod.Get, new Uri(_base, "models?pageSize=1"));
        message.Headers.Add("x-goog-api-key", credential.Require("key"));
        return ProviderHttp.VerifyAsync(client, message, Name, GoogleWire.DescribeError, cancellationToken);
    }
}
