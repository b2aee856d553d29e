using System.Net.ServerSentEvents;
using IntegrationApi.Chat;

namespace IntegrationApi.Providers.Sse;

/// <summary>
/// What <see cref="SseChatStream"/> needs to know about one provider dialect's stream: how an event's bytes are
/// decoded, how an event becomes updates, how the stream ends, and how the provider's error bodies read.
/// </summary>
/// <typeparam name="TEvent">An event's decoded data: a JSON DTO, or <see cref="string"/> for plain-text events.</typeparam>
/// <typeparam name="TContext">One stream's context: the provider's name and whatever translation remembers between events.</typeparam>
internal sealed class SseDialect<TEvent, TContext> where TEvent : class where TContext : ISseContext
{
    /// <summary>Decodes one event (<see cref="SseEvents.Json{T}"/> or <see cref="SseEvents.Text"/>); the done marker, if any, is declared here.</summary>
    public required SseItemParser<SseEvent<TEvent>> Parse { get; init; }

    /// <summary>Appends what one event says to the list; returns true when the event is the dialect's last (ignored when <see cref="End"/> is <see cref="SseEnd.DoneMarker"/>).</summary>
    public required SseTranslate<TEvent, TContext> Translate { get; init; }

    /// <summary>Which signal ends the stream; a body that ends before it is truncated.</summary>
    public required SseEnd End { get; init; }

    /// <summary>The end signal as the truncation message names it: "{provider} stream ended without {EndName}".</summary>
    public required string EndName { get; init; }

    /// <summary>Reads the provider's message (and what it implies) from a non-success body.</summary>
    public required Func<string, ProviderErrorDescription> DescribeError { get; init; }
}

/// <summary>Appends what one event says to <paramref name="updates"/>; returns true when it is the dialect's last event.</summary>
internal delegate bool SseTranslate<in TEvent, in TContext>(TContext context, string eventType, TEvent data, List<ChatUpdate> updates);

/// <summary>How a dialect's stream ends. A body that ends before that is <see cref="ProviderErrorKind.StreamTruncated"/>.</summary>
internal enum SseEnd
{
    /// <summary>An event whose data is the done marker the parser declares (OpenAI's <c>data: [DONE]</c>).</summary>
    DoneMarker,

    /// <summary>The event the translation reports as the last (Anthropic's <c>message_stop</c>); nothing after it is read.
    /// A done marker declared by the parser only stops reading: without the last event first, the stream was cut.</summary>
    LastEvent,

    /// <summary>The body's own end, once the translation has reported the last event (Gemini sends no end marker).</summary>
    BodyAfterLastEvent,
}

/// <summary>One stream's context as the shared loop sees it: whose stream it is (for errors and messages).</summary>
internal interface ISseContext
{
    /// <summary>The provider's name.</summary>
    string Provider { get; }
}

/// <summary>The context of a dialect whose translation remembers nothing between events.</summary>
internal readonly record struct SseContext(string Provider) : ISseContext;
