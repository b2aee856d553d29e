using System.Net.Http.Headers;
using IntegrationApi.Chat;
using IntegrationApi.Providers.OpenAICompatible;
using Microsoft.Extensions.Options;

namespace IntegrationApi.Providers.OpenAI;

/// <summary>Settings for OpenAI (<c>Providers:OpenAI</c>).</summary>
public sealed class OpenAIOptions : EndpointProviderOptions
{
    public OpenAIOptions() => BaseUrl = "https://api.openai.com/v1";
}

/// <summary>OpenAI Chat Completions: the OpenAI-compatible dialect with a Bearer key from <c>credential.key</c>.</summary>
internal sealed class OpenAIProvider(HttpClient client, IOptions<OpenAIOptions> options) : IChatProvider
{
    private readonly Uri _endpoint = new(options.Value.BaseUri, "chat/completions");

    public string Name => ProviderNames.OpenAI;

    public IAsyncEnumerable<ChatUpdate> GetStreamingResponseAsync(ChatRequest request, CancellationToken cancellationToken)
    {
        var message = new HttpRequestMessage(HttpMethod.Post, _endpoint)
        {
            Content = OpenAIChatStream.ToContent(OpenAIChatWire.ToChatRequest(request)),
        };
        message.Headers.Authorization = new AuthenticationHeaderValue("Bearer", request.Credential.Require("key"));
        if (request.Credential.Get("organization") is { } org) message.Headers.Add("OpenAI-Organization", org);
        if (request.Credential.Get("project") is { } project) message.Headers.Add("OpenAI-Project", project);
        return OpenAIChatStream.StreamAsync(client, message, Name, cancellationToken);
    }
}
