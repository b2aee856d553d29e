using System.Net.Http.Headers;
using IntegrationApi.Chat;
using IntegrationApi.Providers.OpenAICompatible;
using IntegrationApi.Providers.Sse;
using Microsoft.Extensions.Options;

namespace IntegrationApi.Providers.Mistral;

/// <summary>Settings for Mistral (<c>Providers:Mistral</c>).</summary>
public sealed class MistralOptions : EndpointProviderOptions
{
    public MistralOptions() => BaseUrl = "https://api.mistral.ai/v1";
}

/// <summary>Mistral chat completions: the OpenAI-compatible dialect without <c>stream_options</c>, with <c>random_seed</c>.</summary>
internal sealed class MistralProvider(HttpClient client, IOptions<MistralOptions> options) : IChatProvider, ICredentialVerifier
{
    private readonly Uri _endpoint = new(options.Value.ToBaseUri(), "chat/completions");
    private readonly Uri _models = new(options.Value.ToBaseUri(), "models");

    public string Name => ProviderNames.Mistral;

    public IAsyncEnumerable<ChatUpdate> GetStreamingResponseAsync(ChatRequest request, CancellationToken cancellationToken)
    {
        var message = new HttpRequestMessage(HttpMethod.Post, _endpoint)
        {
            Content = OpenAIChatStream.ToContent(OpenAIChatWire.ToChatRequest(request, OpenAIDialect.Mistral)),
        };
        message.Headers.Authorization = new AuthenticationHeaderValue("Bearer", request.Credential.Require("key"));
        return SseChatStream.StreamAsync(client, message, OpenAIChatStream.Dialect, new SseContext(Name), cancellationToken);
    }

    /// <summary><c>GET /v1/models</c>; any refusal means invalid, not just a 401.</summary>
    public Task VerifyAsync(ProviderCredential credential, CancellationToken cancellationToken)
    {
        var message = new HttpRequestMessage(HttpMethod.Get, _models);
        message.Headers.Authorization = new AuthenticationHeaderValue("Bearer", credential.Require("key"));
        return ProviderHttp.VerifyAsync(client, message, Name, OpenAIChatWire.DescribeError, cancellationToken);
    }
}
