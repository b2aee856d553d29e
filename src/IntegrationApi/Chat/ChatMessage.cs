using System.Text.Json;

namespace IntegrationApi.Chat;

/// <summary>A provider-neutral conversation turn.</summary>
public sealed record ChatMessage(ChatRole Role, IReadOnlyList<ChatPart> Parts, IReadOnlyList<ChatToolCall> ToolCalls)
{
    /// <summary>All text parts joined, the way most providers want a plain-string turn.</summary>
    public string Text => Parts.Count switch
    {
        0 => "",
        1 when Parts[0].Kind == ChatPartKind.Text => Parts[0].Value,
        _ => string.Concat(Parts.Where(p => p.Kind == ChatPartKind.Text).Select(p => p.Value)),
    };
}

/// <summary>Who spoke a turn.</summary>
public enum ChatRole { System, User, Assistant, Tool }

/// <summary>The kind of one piece of a turn.</summary>
public enum ChatPartKind
{
    Text,
    ImageUrl,
    ToolResult,
    /// <summary>Reasoning a provider returned (text, possibly empty) with the state it needs back (<see cref="ChatPart.Meta"/>; docs/contract.md §8).</summary>
    Reasoning,
    /// <summary>Audio: a <c>data:</c> URL (raw bytes, MIME type in <see cref="ChatPart.MimeType"/>) or a URL.</summary>
    Audio,
}

/// <summary>One piece of a turn: text, an image by URL, a tool result (<see cref="ToolCallId"/> set), reasoning state or audio.</summary>
public sealed record ChatPart(ChatPartKind Kind, string Value, string? ToolCallId = null, string? Name = null)
{
    /// <summary>A text part.</summary>
    public static ChatPart FromText(string text) => new(ChatPartKind.Text, text);

    /// <summary>
    /// The content's <c>meta</c> as text values: a reasoning part's provider state (<see cref="ReasoningMeta"/>), or
    /// caching markers (<c>cacheControl</c>) on any part; null when the content had none.
    /// </summary>
    public IReadOnlyDictionary<string, string>? Meta { get; init; }

    /// <summary>The MIME type of an image or audio part, when known (<c>meta.mimeType</c> or read from the bytes).</summary>
    public string? MimeType { get; init; }

    /// <summary>The value of <paramref name="key"/> in <see cref="Meta"/>, or null.</summary>
    public string? MetaValue(string key) => Meta is { } m && m.TryGetValue(key, out var v) ? v : null;
}

/// <summary>Reasoning a provider returned, in the order it came: its text and the provider state that goes back with it.</summary>
public sealed record ChatReasoning(string Text, IReadOnlyDictionary<string, string> Meta)
{
    /// <summary>The provider whose state this is (<see cref="ReasoningMeta.Provider"/>).</summary>
    public string? Provider => Meta.TryGetValue(ReasoningMeta.Provider, out var p) ? p : null;
}

/// <summary>
/// The <c>Content.meta</c> keys of reasoning contents (docs/providers/*.md list which each provider uses). Every key's
/// value is text. State is only ever sent back to the provider named in <see cref="Provider"/>.
/// </summary>
public static class ReasoningMeta
{
    /// <summary>The provider that produced the state (<c>anthropic</c>, <c>gemini</c>, <c>vertexai</c>, <c>mistral</c>, …).</summary>
    public const string Provider = "provider";
    /// <summary>The provider's kind of block: Anthropic <c>thinking</c> / <c>redacted_thinking</c>; Google <c>thought</c>, <c>text</c>, <c>functionCall</c>; Mistral <c>thinking</c>.</summary>
    public const string Type = "type";
    /// <summary>An opaque signature the provider checks (Anthropic <c>signature</c>, Google <c>thoughtSignature</c>).</summary>
    public const string Signature = "signature";
    /// <summary>Anthropic <c>redacted_thinking</c>'s encrypted <c>data</c>.</summary>
    public const string Data = "data";
    /// <summary>Google: the tool call a <c>functionCall</c> part's signature belongs to.</summary>
    public const string ToolCallId = "toolCallId";
    /// <summary>Google: the position of the signed part in the provider's answer.</summary>
    public const string PartIndex = "partIndex";
}

/// <summary>Content <c>meta</c> keys that are not reasoning state.</summary>
public static class ChatContentMeta
{
    /// <summary>MIME type of raw image or audio bytes (<c>image/png</c>, <c>audio/wav</c>, …).</summary>
    public const string MimeType = "mimeType";
    /// <summary>A prompt-caching marker (<c>ephemeral</c>); Anthropic sends it as <c>cache_control</c> on the block.</summary>
    public const string CacheControl = "cacheControl";
    /// <summary>With <see cref="CacheControl"/>: the cache's time to live (<c>5m</c>, <c>1h</c>).</summary>
    public const string CacheTtl = "cacheTtl";
}

/// <summary>A function call the assistant asked for; <see cref="Arguments"/> is JSON text.</summary>
public sealed record ChatToolCall(string Id, string Name, string Arguments)
{
    /// <summary><see cref="Arguments"/> as a JSON object: set at the edge on every call a caller sends back (checked there); null on calls a provider streamed.</summary>
    public JsonElement? ParsedArguments { get; init; }
}

/// <summary>A function the model may call; <see cref="Parameters"/> is its JSON schema object, parsed once at the edge.</summary>
public sealed record ChatTool(string Name, string Description, JsonElement Parameters)
{
    /// <summary><c>ToolDefinition.meta.cacheControl</c> (e.g. <c>ephemeral</c>): a prompt-caching marker on this tool, where the provider has them.</summary>
    public string? CacheControl { get; init; }

    /// <summary><c>ToolDefinition.meta.cacheTtl</c>: the marker's time to live (<c>5m</c>, <c>1h</c>).</summary>
    public string? CacheTtl { get; init; }
}
