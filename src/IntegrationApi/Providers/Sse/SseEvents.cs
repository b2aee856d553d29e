using System.Net.ServerSentEvents;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace IntegrationApi.Providers.Sse;

/// <summary>One SSE event: its type, its data decoded (null when empty JSON) and whether it was the done marker.</summary>
internal readonly record struct SseEvent<T>(string EventType, T? Data, bool IsDone) where T : class;

/// <summary>
/// A dialect's reading of its commonest event without the deserializer (e.g. <see cref="OpenAICompatible.OpenAIChunkReader"/>);
/// null when the event is not that shape and must be deserialized.
/// </summary>
internal delegate T? SseFastRead<T>(ReadOnlySpan<byte> data) where T : class;

/// <summary>Thin helpers over <see cref="SseParser"/>: each event's data is decoded straight from its bytes.</summary>
internal static class SseEvents
{
    /// <summary>Each event's data as UTF-8 text, empty data as "" (for dialects whose data is not JSON).</summary>
    public static SseItemParser<SseEvent<string>> Text { get; } = static (eventType, data) => new(eventType, Encoding.UTF8.GetString(data), false);

    /// <summary>
    /// Each event's data deserialized with <paramref name="typeInfo"/> (null when empty); data equal to
    /// <paramref name="doneMarker"/> (e.g. <c>[DONE]</c>) comes back with <see cref="SseEvent{T}.IsDone"/> set.
    /// Malformed JSON surfaces as <see cref="JsonException"/>.
    /// </summary>
    public static SseItemParser<SseEvent<T>> Json<T>(JsonTypeInfo<T> typeInfo, string? doneMarker = null, SseFastRead<T>? fastRead = null) where T : class
    {
        var done = doneMarker is null ? null : Encoding.UTF8.GetBytes(doneMarker);
        return (eventType, data) =>
        {
            if (done is not null && data.SequenceEqual(done)) return new SseEvent<T>(eventType, null, true);
            if (data.IsEmpty) return new SseEvent<T>(eventType, null, false);
            return new SseEvent<T>(eventType, fastRead?.Invoke(data) ?? JsonSerializer.Deserialize(data, typeInfo), false);
        };
    }

    /// <summary>Reads the response body as SSE (LF, CRLF or CR line ends; comments and unknown fields ignored), JSON data as <see cref="Json{T}"/>.</summary>
    public static IAsyncEnumerable<SseEvent<T>> ReadAsync<T>(
        HttpResponseMessage response, JsonTypeInfo<T> typeInfo, string? doneMarker, CancellationToken cancellationToken)
        where T : class
        => ReadAsync(response, Json(typeInfo, doneMarker), cancellationToken);

    /// <summary>Reads the response body as SSE, each event decoded by <paramref name="parse"/>.</summary>
    public static async IAsyncEnumerable<SseEvent<T>> ReadAsync<T>(
        HttpResponseMessage response, SseItemParser<SseEvent<T>> parse, [EnumeratorCancellation] CancellationToken cancellationToken)
        where T : class
    {
        await using var body = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        await foreach (var item in SseParser.Create(body, parse).EnumerateAsync(cancellationToken).ConfigureAwait(false))
            yield return item.Data;
    }
}
