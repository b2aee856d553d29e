using System.ComponentModel.DataAnnotations;
using IntegrationApi.Chat;
using IntegrationApi.Providers.Sse;
using Microsoft.Extensions.Options;

namespace IntegrationApi.Providers.Anthropic;

/// <summary>Settings for Anthropic (<c>Providers:Anthropic</c>).</summary>
public sealed class AnthropicOptions : EndpointProviderOptions
{
    public AnthropicOptions() => BaseUrl = "https://api.anthropic.com/v1";

    /// <summary>The <c>anthropic-version</c> header.</summary>
    [Required]
    public string ApiVersion { get; set; } = "2023-06-01";

    /// <summary><c>max_tokens</c> is required by the API; this is sent when the request has no <c>model.max_tokens</c>.</summary>
    [Range(1, int.MaxValue)]
    public int DefaultMaxTokens { get; set; } = 4096;
}

/// <summary>Anthropic Messages API with <c>x-api-key</c> from <c>credential.key</c>.</summary>
internal sealed class AnthropicProvider(HttpClient client, IOptions<AnthropicOptions> options) : IChatProvider, ICredentialVerifier
{
    /// <summary>Typed events until <c>message_stop</c> (https://docs.anthropic.com/en/docs/build-with-claude/streaming).</summary>
    private static readonly SseDialect<AnthropicEvent, SseContext> Dialect = new()
    {
        Parse = SseEvents.Json(AnthropicJsonContext.Default.AnthropicEvent),
        Translate = static (stream, eventType, e, updates) => AnthropicWire.FromStreamEvent(eventType, e, stream.Provider, updates),
        End = SseEnd.LastEvent,
        EndName = "message_stop",
        DescribeError = AnthropicWire.DescribeError,
    };

    private readonly Uri _models = new(options.Value.ToBaseUri(), "models?limit=1");
    private readonly AnthropicOptions _options = options.Value;
    private readonly Uri _endpoint = new(options.Value.ToBaseUri(), "messages");

    public string Name => ProviderNames.Anthropic;

    public IAsyncEnumerable<ChatUpdate> GetStreamingResponseAsync(ChatRequest request, CancellationToken cancellationToken)
    {
        var body = AnthropicWire.ToMessagesRequest(request, _options.DefaultMaxTokens, Name);
        var message = new HttpRequestMessage(HttpMethod.Post, _endpoint) { Content = ProviderHttp.JsonBody(body, AnthropicJsonContext.Default.AnthropicRequest) };
        Authorize(message, request.Credential);
        return SseChatStream.StreamAsync(client, message, Dialect, new SseContext(Name), cancellationToken);
    }

    /// <summary><c>GET /v1/models?limit=1</c>: the cheapest authenticated call (https://docs.anthropic.com/en/api/models-list).</summary>
    public Task VerifyAsync(ProviderCredential credential, CancellationToken cancellationToken)
    {
        var message = new HttpRequestMessage(HttpMethod.Get, _models);
        Authorize(message, credential);
        return ProviderHttp.VerifyAsync(client, message, Name, AnthropicWire.DescribeError, cancellationToken);
    }

    private void Authorize(HttpRequestMessage message, ProviderCredential credential)
    {
        message.Headers.Add("x-api-key", credential.Require("key"));
        message.Headers.Add("anthropic-version", _options.ApiVersion);
    }
}
