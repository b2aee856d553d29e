using System.Net.Http.Headers;
using IntegrationApi.Chat;
using IntegrationApi.Providers.OpenAICompatible;
using IntegrationApi.Providers.Sse;
using Microsoft.Extensions.Options;

namespace IntegrationApi.Providers.OpenAI;

/// <summary>Settings for OpenAI (<c>Providers:OpenAI</c>).</summary>
public sealed class OpenAIOptions : EndpointProviderOptions
{
    public OpenAIOptions() => BaseUrl = "https://api.openai.com/v1";
}

/// <summary>OpenAI Chat Completions: the OpenAI-compatible dialect with a Bearer key from <c>credential.key</c>.</summary>
internal sealed class OpenAIProvider(HttpClient client, IOptions<OpenAIOptions> options) : IChatProvider, ICredentialVerifier
{
    private readonly Uri _endpoint = new(options.Value.ToBaseUri(), "chat/completions");
    private readonly Uri _models = new(options.Value.ToBaseUri(), "models");

    public string Name => ProviderNames.OpenAI;

    public IAsyncEnumerable<ChatUpdate> GetStreamingResponseAsync(ChatRequest request, CancellationToken cancellationToken)
    {
        var message = new HttpRequestMessage(HttpMethod.Post, _endpoint)
        {
            Content = OpenAIChatStream.ToContent(OpenAIChatWire.ToChatRequest(request)),
        };
        Authorize(message, request.Credential);
        return SseChatStream.StreamAsync(client, message, OpenAIChatStream.Dialect, new SseContext(Name), cancellationToken);
    }

    /// <summary><c>GET /models</c>.</summary>
    public Task VerifyAsync(ProviderCredential credential, CancellationToken cancellationToken)
    {
        var message = new HttpRequestMessage(HttpMethod.Get, _models);
        Authorize(message, credential);
        return ProviderHttp.VerifyAsync(client, message, Name, OpenAIChatWire.DescribeError, cancellationToken);
    }

    /// <summary>The Bearer key and the optional organization and project headers.</summary>
    internal static void Authorize(HttpRequestMessage message, ProviderCredential credential)
    {
        message.Headers.Authorization = new AuthenticationHeaderValue("Bearer", credential.Require("key"));
        if (credential.Optional("organization") is { } org) message.Headers.Add("OpenAI-Organization", org);
        if (credential.Optional("project") is { } project) message.Headers.Add("OpenAI-Project", project);
    }
}
