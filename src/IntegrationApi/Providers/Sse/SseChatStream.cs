using System.Runtime.CompilerServices;
using IntegrationApi.Chat;

namespace IntegrationApi.Providers.Sse;

/// <summary>The one streaming call every SSE dialect makes; a dialect only describes itself (<see cref="SseDialect{TEvent, TContext}"/>).</summary>
internal static class SseChatStream
{
    /// <summary>
    /// Sends <paramref name="request"/> reading headers only, then reads the body as SSE and yields what
    /// <paramref name="dialect"/> translates each event into, until the dialect's end; a body that ends before it
    /// throws <see cref="ProviderErrorKind.StreamTruncated"/>. The request and the response are disposed at the end.
    /// </summary>
    public static async IAsyncEnumerable<ChatUpdate> StreamAsync<TEvent, TContext>(
        HttpClient client, HttpRequestMessage request, SseDialect<TEvent, TContext> dialect, TContext context,
        [EnumeratorCancellation] CancellationToken cancellationToken)
        where TEvent : class where TContext : ISseContext
    {
        using var sent = request;
        using var response = await ProviderHttp.SendAsync(client, request, context.Provider, dialect.DescribeError, cancellationToken).ConfigureAwait(false);
        var updates = new List<ChatUpdate>(4);
        var ended = false;
        await foreach (var item in SseEvents.ReadAsync(response, dialect.Parse, cancellationToken).ConfigureAwait(false))
        {
            if (item.IsDone)
            {
                ended |= dialect.End == SseEnd.DoneMarker;
                break;
            }
            if (item.Data is null) continue;
            var last = dialect.Translate(context, item.EventType, item.Data, updates) && dialect.End != SseEnd.DoneMarker;
            foreach (var update in updates) yield return update;
            updates.Clear();
            if (!last) continue;
            ended = true;
            if (dialect.End == SseEnd.LastEvent) break;
        }
        if (!ended)
            throw new ProviderException(ProviderErrorKind.StreamTruncated, context.Provider, $"{context.Provider} stream ended without {dialect.EndName}");
    }
}
