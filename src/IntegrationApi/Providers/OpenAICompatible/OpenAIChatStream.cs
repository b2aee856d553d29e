using System.Runtime.CompilerServices;
using IntegrationApi.Chat;
using IntegrationApi.Providers.Sse;

namespace IntegrationApi.Providers.OpenAICompatible;

/// <summary>The streaming call of the Chat Completions dialect; providers add only the URL and auth headers.</summary>
internal static class OpenAIChatStream
{
    private const string DoneMarker = "[DONE]";

    /// <summary>Sends <paramref name="request"/> and yields the translated updates until <c>data: [DONE]</c>.</summary>
    public static async IAsyncEnumerable<ChatUpdate> StreamAsync(
        HttpClient client, HttpRequestMessage request, string provider, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        using var sent = request;
        using var response = await ProviderHttp.SendAsync(client, request, provider, OpenAIChatWire.DescribeError, cancellationToken).ConfigureAwait(false);
        var updates = new List<ChatUpdate>(4);
        await foreach (var item in SseEvents.ReadAsync(response, OpenAIJsonContext.Default.OpenAIChunk, DoneMarker, cancellationToken).ConfigureAwait(false))
        {
            if (item.IsDone) yield break;
            if (item.Data is null) continue;
            OpenAIChatWire.FromChunk(item.Data, provider, updates);
            foreach (var update in updates) yield return update;
            updates.Clear();
        }
        throw new ProviderException(ProviderErrorKind.StreamTruncated, provider, $"{provider} stream ended without data: [DONE]");
    }

    /// <summary>The JSON body of <paramref name="request"/> as UTF-8 content.</summary>
    public static ByteArrayContent ToContent(OpenAIChatRequest request) => ProviderHttp.JsonBody(request, OpenAIJsonContext.Default.OpenAIChatRequest);
}
