using System.Net.Http.Headers;
using IntegrationApi.Chat;
using IntegrationApi.Providers.OpenAICompatible;
using Microsoft.Extensions.Options;

namespace IntegrationApi.Providers.Mistral;

/// <summary>Settings for Mistral (<c>Providers:Mistral</c>).</summary>
public sealed class MistralOptions : EndpointProviderOptions
{
    public MistralOptions() => BaseUrl = "https://api.mistral.ai/v1";
}

/// <summary>Mistral chat completions: the OpenAI-compatible dialect without <c>stream_options</c>, with <c>random_seed</c>.</summary>
internal sealed class MistralProvider(HttpClient client, IOptions<MistralOptions> options) : IChatProvider
{
    private readonly Uri _endpoint = new(options.Value.BaseUri, "chat/completions");

    public string Name => ProviderNames.Mistral;

    public IAsyncEnumerable<ChatUpdate> GetStreamingResponseAsync(ChatRequest request, CancellationToken cancellationToken)
    {
        var message = new HttpRequestMessage(HttpMethod.Post, _endpoint)
        {
            Content = OpenAIChatStream.ToContent(OpenAIChatWire.ToChatRequest(request, OpenAIDialect.Mistral)),
        };
        message.Headers.Authorization = new AuthenticationHeaderValue("Bearer", request.Credential.Require("key"));
        return OpenAIChatStream.StreamAsync(client, message, Name, cancellationToken);
    }
}
