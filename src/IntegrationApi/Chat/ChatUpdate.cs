namespace IntegrationApi.Chat;

/// <summary>What an adapter yields while a response streams in.</summary>
public enum ChatUpdateKind { Text, ToolCall, Usage, Finish, Reasoning }

/// <summary>
/// One step of a streamed answer: a text delta, a tool-call fragment (keyed by <see cref="Index"/>;
/// the first fragment of a call carries its id and name), a usage report (fields left null keep their
/// earlier value) or the provider's finish reason.
/// </summary>
public sealed class ChatUpdate
{
    private ChatUpdate(ChatUpdateKind kind) => Kind = kind;

    public ChatUpdateKind Kind { get; }
    public string? Text { get; private init; }
    public int Index { get; private init; }
    public string? ToolCallId { get; private init; }
    public string? ToolName { get; private init; }
    public string? ArgumentsDelta { get; private init; }
    public TokenUsage? Usage { get; private init; }
    public ChatFinishReason FinishReason { get; private init; }
    /// <summary>A reasoning update's provider state (merged key by key into block <see cref="Index"/>'s).</summary>
    public IReadOnlyDictionary<string, string>? Meta { get; private init; }

    /// <summary>A text delta.</summary>
    public static ChatUpdate FromText(string text) => new(ChatUpdateKind.Text) { Text = text };

    /// <summary>A fragment of tool call number <paramref name="index"/>.</summary>
    public static ChatUpdate FromToolCall(int index, string? id, string? name, string? argumentsDelta) =>
        new(ChatUpdateKind.ToolCall) { Index = index, ToolCallId = id, ToolName = name, ArgumentsDelta = argumentsDelta };

    /// <summary>
    /// A piece of reasoning block <paramref name="index"/>: text to append (may be null or empty) and provider state to
    /// merge into the block's (<see cref="ReasoningMeta"/>; later values of a key replace earlier ones).
    /// </summary>
    public static ChatUpdate FromReasoning(int index, string? text, IReadOnlyDictionary<string, string>? meta = null) =>
        new(ChatUpdateKind.Reasoning) { Index = index, Text = text, Meta = meta };

    /// <summary>Token counts reported by the provider.</summary>
    public static ChatUpdate FromUsage(TokenUsage usage) => new(ChatUpdateKind.Usage) { Usage = usage };

    /// <summary>The provider's finish reason.</summary>
    public static ChatUpdate Finished(ChatFinishReason reason) => new(ChatUpdateKind.Finish) { FinishReason = reason };
}

/// <summary>Token counts; null means "not reported".</summary>
/// <param name="CacheWrite">Input tokens written to the provider's prompt cache (Anthropic <c>cache_creation_input_tokens</c>).</param>
public sealed record TokenUsage(long? Input = null, long? Output = null, long? Total = null, long? CachedInput = null, long? Reasoning = null, long? CacheWrite = null);
