using System.Text.Json;
using IntegrationApi.Chat;
using IntegrationApi.Providers.Sse;

namespace IntegrationApi.Providers.Replicate;

/// <summary>
/// The SSE at a prediction's <c>urls.stream</c> (https://replicate.com/docs/topics/predictions/streaming): <c>output</c>
/// events carry plain text, not JSON; <c>error</c> and <c>done</c> carry a small JSON object; <c>done</c> ends the stream.
/// </summary>
internal static class ReplicateStream
{
    public static SseDialect<string, ReplicateStreamContext> Dialect { get; } = new()
    {
        Parse = SseEvents.Text,
        Translate = FromStreamEvent,
        End = SseEnd.LastEvent,
        EndName = "a done event",
        DescribeError = ReplicateWire.DescribeError,
    };

    /// <summary>Appends an <c>output</c> event's text; throws on <c>error</c> and on a <c>done</c> with a reason (failed or canceled); true on <c>done</c>.</summary>
    private static bool FromStreamEvent(ReplicateStreamContext stream, string eventType, string data, List<ChatUpdate> updates)
    {
        switch (eventType)
        {
            case "output" when data.Length > 0:
                updates.Add(ChatUpdate.FromText(data));
                return false;
            case "error":
                throw new ProviderException(ProviderErrorKind.UpstreamError, stream.Provider,
                    $"{stream.Provider} prediction {stream.PredictionId} failed: {Parse(data).Detail ?? data}", retryable: false);
            case "done":
                var reason = Parse(data).Reason;
                if (reason is { Length: > 0 })
                    throw new ProviderException(ProviderErrorKind.UpstreamError, stream.Provider, $"{stream.Provider} prediction {stream.PredictionId} ended: {reason}", retryable: false);
                return true;
            default:
                return false;
        }
    }

    private static ReplicateEventData Parse(string data) =>
        data.Length == 0 ? new ReplicateEventData() : JsonSerializer.Deserialize(data, ReplicateJsonContext.Default.ReplicateEventData) ?? new ReplicateEventData();
}

/// <summary>One prediction's stream: the provider's name and the prediction, for messages.</summary>
internal readonly record struct ReplicateStreamContext(string Provider, string? PredictionId) : ISseContext;
