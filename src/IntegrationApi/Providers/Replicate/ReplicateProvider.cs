using System.Net.Http.Headers;
using System.Runtime.CompilerServices;
using System.Text.Json;
using IntegrationApi.Chat;
using IntegrationApi.Providers.Sse;
using Microsoft.Extensions.Options;

namespace IntegrationApi.Providers.Replicate;

/// <summary>
/// Replicate: create a prediction with <c>stream: true</c>, read the SSE at <c>urls.stream</c> (<c>output</c> text,
/// <c>error</c>, <c>done</c>), then read the token counts from the finished prediction's <c>metrics</c>.
/// A request abandoned mid-way cancels its prediction so it stops costing.
/// </summary>
internal sealed class ReplicateProvider(HttpClient client, IOptions<ReplicateOptions> options) : IChatProvider, ICredentialVerifier
{
    private static readonly TimeSpan CancelTimeout = TimeSpan.FromSeconds(5);
    private readonly Uri _base = options.Value.ToBaseUri();
    private readonly ReplicateUrlPolicy _urls = new(options.Value);

    public string Name => ProviderNames.Replicate;

    public IAsyncEnumerable<ChatUpdate> GetStreamingResponseAsync(ChatRequest request, CancellationToken cancellationToken)
    {
        var body = ReplicateWire.ToCreateRequest(request, out var path);
        return StreamAsync(body, path, request.Credential.Require("key"), cancellationToken);
    }

    private async IAsyncEnumerable<ChatUpdate> StreamAsync(ReplicateCreateRequest body, string path, string key, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var prediction = await CreateAsync(body, path, key, cancellationToken).ConfigureAwait(false);
        var urls = prediction.Urls;
        if (urls?.Stream is null)
            throw new ProviderException(ProviderErrorKind.BadResponse, Name, $"{Name}: the model gave no stream URL (status {prediction.Status}); it may not support streaming", retryable: false);

        var completed = false;
        try
        {
            var streamUrl = _urls.Check(urls.Stream) ?? throw new ProviderException(ProviderErrorKind.BadResponse, Name,
                $"{Name} gave a stream URL on {ReplicateUrlPolicy.Origin(urls.Stream)}, not {_urls.Describe()}; it was not fetched", retryable: false);
            var get = Authorized(HttpMethod.Get, streamUrl, key);
            get.Headers.Accept.ParseAdd("text/event-stream");
            get.Headers.CacheControl = new CacheControlHeaderValue { NoStore = true };
            await foreach (var update in SseChatStream.StreamAsync(client, get, ReplicateStream.Dialect, new ReplicateStreamContext(Name, prediction.Id), cancellationToken).ConfigureAwait(false))
                yield return update;
            completed = true;
        }
        finally
        {
            if (!completed && _urls.Check(urls.Cancel) is { } cancel) _ = CancelAsync(cancel, key);
        }

        if (_urls.Check(urls.Get) is { } getUrl && await MetricsAsync(getUrl, key, cancellationToken).ConfigureAwait(false) is { } usage)
            yield return ChatUpdate.FromUsage(usage);
        yield return ChatUpdate.Finished(ChatFinishReason.Stop);
    }

    /// <summary><c>GET /v1/account</c>.</summary>
    public Task VerifyAsync(ProviderCredential credential, CancellationToken cancellationToken) =>
        ProviderHttp.VerifyAsync(client, Authorized(HttpMethod.Get, new Uri(_base, "account"), credential.Require("key")), Name, ReplicateWire.DescribeError, cancellationToken);

    private async Task<ReplicatePrediction> CreateAsync(ReplicateCreateRequest body, string path, string key, CancellationToken cancellationToken)
    {
        using var create = Authorized(HttpMethod.Post, new Uri(_base, path), key);
        create.Content = ProviderHttp.JsonBody(body, ReplicateJsonContext.Default.ReplicateCreateRequest);
        using var response = await ProviderHttp.SendAsync(client, create, Name, ReplicateWire.DescribeError, cancellationToken).ConfigureAwait(false);
        var prediction = await response.Content.ReadFromJsonAsync(ReplicateJsonContext.Default.ReplicatePrediction, cancellationToken).ConfigureAwait(false)
            ?? throw new ProviderException(ProviderErrorKind.BadResponse, Name, $"{Name} returned an empty prediction", retryable: false);
        if (prediction.Status is "failed" or "canceled")
            throw new ProviderException(ProviderErrorKind.UpstreamError, Name, $"{Name} prediction {prediction.Id} {prediction.Status}: {prediction.Error}", retryable: false);
        return prediction;
    }

    /// <summary>Token counts from the finished prediction; a failure here costs the counts, never the answer.</summary>
    private async Task<TokenUsage?> MetricsAsync(Uri url, string key, CancellationToken cancellationToken)
    {
        try
        {
            using var get = Authorized(HttpMethod.Get, url, key);
            using var response = await client.SendAsync(get, cancellationToken).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode) return null;
            var prediction = await response.Content.ReadFromJsonAsync(ReplicateJsonContext.Default.ReplicatePrediction, cancellationToken).ConfigureAwait(false);
            return ReplicateWire.FromMetrics(prediction?.Metrics);
        }
        catch (Exception ex) when (ex is HttpRequestException or JsonException or ProviderException)
        {
            return null;
        }
    }

    /// <summary>Best effort, off the request's own (already cancelled) token.</summary>
    private async Task CancelAsync(Uri url, string key)
    {
        try
        {
            using var timeout = new CancellationTokenSource(CancelTimeout);
            using var cancel = Authorized(HttpMethod.Post, url, key);
            using var _ = await client.SendAsync(cancel, HttpCompletionOption.ResponseHeadersRead, timeout.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is HttpRequestException or OperationCanceledException or ProviderException)
        {
            // The prediction runs to its end on Replicate's side; nothing more to do.
        }
    }

    private static HttpRequestMessage Authorized(HttpMethod method, Uri url, string key)
    {
        var message = new HttpRequestMessage(method, url);
        message.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        return message;
    }
}
