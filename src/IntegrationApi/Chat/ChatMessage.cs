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
public enum ChatPartKind { Text, ImageUrl, ToolResult }

/// <summary>One piece of a turn: text, an image by URL, or a tool result (<see cref="ToolCallId"/> set).</summary>
public sealed record ChatPart(ChatPartKind Kind, string Value, string? ToolCallId = null, string? Name = null)
{
    /// <summary>A text part.</summary>
    public static ChatPart FromText(string text) => new(ChatPartKind.Text, text);
}

/// <summary>A function call the assistant asked for; <see cref="Arguments"/> is JSON text.</summary>
public sealed record ChatToolCall(string Id, string Name, string Arguments)
{
    /// <summary><see cref="Arguments"/> as a JSON object: set at the edge on every call a caller sends back (checked there); null on calls a provider streamed.</summary>
    public JsonElement? ParsedArguments { get; init; }
}

/// <summary>A function the model may call; <see cref="Parameters"/> is its JSON schema object, parsed once at the edge.</summary>
public sealed record ChatTool(string Name, string Description, JsonElement Parameters);
