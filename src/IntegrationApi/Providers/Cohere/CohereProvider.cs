using System.Net.Http.Headers;
using IntegrationApi.Chat;
using IntegrationApi.Providers.Sse;
using Microsoft.Extensions.Options;

namespace IntegrationApi.Providers.Cohere;

/// <summary>Settings for Cohere (<c>Providers:Cohere</c>).</summary>
public sealed class CohereOptions : EndpointProviderOptions
{
    public CohereOptions() => BaseUrl = "https://api.cohere.com/v2";
}

/// <summary>Cohere Chat v2 (<c>POST /v2/chat</c>, Bearer key from <c>credential.key</c>); <c>message-end</c> ends the stream.</summary>
internal sealed class CohereProvider(HttpClient client, IOptions<CohereOptions> options) : IChatProvider, ICredentialVerifier
{
    /// <summary>
    /// Typed events until <c>message-end</c> (https://docs.cohere.com/v2/docs/streaming). A <c>data: [DONE]</c> is not
    /// JSON, so it is recognised, but it only stops reading: an answer without <c>message-end</c> before it was cut.
    /// </summary>
    private static readonly SseDialect<CohereEvent, SseContext> Dialect = new()
    {
        Parse = SseEvents.Json(CohereJsonContext.Default.CohereEvent, "[DONE]"),
        Translate = static (stream, _, e, updates) => CohereWire.FromStreamEvent(e, stream.Provider, updates),
        End = SseEnd.LastEvent,
        EndName = "message-end",
        DescribeError = CohereWire.DescribeError,
    };

    private readonly Uri _endpoint = new(options.Value.ToBaseUri(), "chat");
    private readonly Uri _check = new(options.Value.ToBaseUri(), "../v1/check-api-key");

    public string Name => ProviderNames.Cohere;

    public IAsyncEnumerable<ChatUpdate> GetStreamingResponseAsync(ChatRequest request, CancellationToken cancellationToken)
    {
        var message = new HttpRequestMessage(HttpMethod.Post, _endpoint) { Content = ProviderHttp.JsonBody(CohereWire.ToChatRequest(request), CohereJsonContext.Default.CohereRequest) };
        message.Headers.Authorization = new AuthenticationHeaderValue("Bearer", request.Credential.Require("key"));
        return SseChatStream.StreamAsync(client, message, Dialect, new SseContext(Name), cancellationToken);
    }

    /// <summary><c>POST /v1/check-api-key</c>: a 200 can still say <c>"valid": false</c>.</summary>
    public async Task VerifyAsync(ProviderCredential credential, CancellationToken cancellationToken)
    {
        using var message = new HttpRequestMessage(HttpMethod.Post, _check);
        message.Headers.Authorization = new AuthenticationHeaderValue("Bearer", credential.Require("key"));
        using var response = await ProviderHttp.SendAsync(client, message, Name, CohereWire.DescribeError, cancellationToken).ConfigureAwait(false);
        using var body = await System.Text.Json.JsonDocument.ParseAsync(await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false), cancellationToken: cancellationToken).ConfigureAwait(false);
        if (body.RootElement.TryGetProperty("valid", out var valid) && valid.ValueKind == System.Text.Json.JsonValueKind.False)
            throw new ProviderException(ProviderErrorKind.Unauthorized, Name, $"{Name} says the API key is not valid", 200);
    }
}
