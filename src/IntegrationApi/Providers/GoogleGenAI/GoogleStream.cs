using System.Runtime.CompilerServices;
using IntegrationApi.Chat;
using IntegrationApi.Providers.Sse;

namespace IntegrationApi.Providers.GoogleGenAI;

/// <summary>The streaming call of generateContent; Gemini and Vertex add only the URL and auth.</summary>
internal static class GoogleStream
{
    /// <summary>Sends <paramref name="request"/> and yields updates until the chunk with a finish reason; a body that ends before it is truncated.</summary>
    public static async IAsyncEnumerable<ChatUpdate> StreamAsync(
        HttpClient client, HttpRequestMessage request, string provider, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        using var sent = request;
        using var response = await ProviderHttp.SendAsync(client, request, provider, GoogleWire.DescribeError, cancellationToken).ConfigureAwait(false);
        var updates = new List<ChatUpdate>(4);
        var state = new GoogleStreamState();
        var finished = false;
        await foreach (var item in SseEvents.ReadAsync(response, GoogleJsonContext.Default.GoogleResponse, null, cancellationToken).ConfigureAwait(false))
        {
            if (item.Data is null) continue;
            finished |= GoogleWire.FromResponse(item.Data, provider, state, updates);
            foreach (var update in updates) yield return update;
            updates.Clear();
        }
        // No end marker: the body just ends. Without a finish reason, it ended early.
        if (!finished) throw new ProviderException(ProviderErrorKind.StreamTruncated, provider, $"{provider} stream ended without a finishReason");
    }

    /// <summary>The JSON body as UTF-8 content.</summary>
    public static ByteArrayContent ToContent(GoogleRequest request) => ProviderHttp.JsonBody(request, GoogleJsonContext.Default.GoogleRequest);
}
