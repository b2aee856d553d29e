using System.Net.ServerSentEvents;
using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace IntegrationApi.Providers.Sse;

/// <summary>One SSE event: its type, its data deserialized (null when empty) and whether it was the done marker.</summary>
internal readonly record struct SseEvent<T>(string EventType, T? Data, bool IsDone) where T : class;

/// <summary>Thin helpers over <see cref="SseParser"/>: each event's data is deserialized straight from its bytes.</summary>
internal static class SseEvents
{
    /// <summary>
    /// Reads the response body as SSE (LF, CRLF or CR line ends; comments and unknown fields ignored),
    /// deserializing each event's data with <paramref name="typeInfo"/>. Data equal to
    /// <paramref name="doneMarker"/> (e.g. <c>[DONE]</c>) comes back with <see cref="SseEvent{T}.IsDone"/> set.
    /// Malformed JSON surfaces as <see cref="JsonException"/>.
    /// </summary>
    public static async IAsyncEnumerable<SseEvent<T>> ReadAsync<T>(
        HttpResponseMessage response, JsonTypeInfo<T> typeInfo, string? doneMarker,
        [EnumeratorCancellation] CancellationToken cancellationToken)
        where T : class
    {
        var done = doneMarker is null ? null : System.Text.Encoding.UTF8.GetBytes(doneMarker);
        await using var body = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        var parser = SseParser.Create(body, (eventType, data) =>
        {
            if (done is not null && data.SequenceEqual(done)) return new SseEvent<T>(eventType, null, true);
            if (data.IsEmpty) return new SseEvent<T>(eventType, null, false);
            return new SseEvent<T>(eventType, JsonSerializer.Deserialize(data, typeInfo), false);
        });
        await foreach (var item in parser.EnumerateAsync(cancellationToken).ConfigureAwait(false))
            yield return item.Data;
    }
}
