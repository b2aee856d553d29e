namespace IntegrationApi.Chat;

/// <summary>Why a request ended, as sent in <c>ChatResponse.finishReason</c>; open-ended like the providers' own.</summary>
public readonly record struct ChatFinishReason(string Value)
{
    public static ChatFinishReason Stop { get; } = new("stop");
    public static ChatFinishReason Length { get; } = new("length");
    public static ChatFinishReason ToolCalls { get; } = new("tool_calls");
    public static ChatFinishReason ContentFilter { get; } = new("content_filter");
    public static ChatFinishReason Error { get; } = new("error");
    public static ChatFinishReason Cancelled { get; } = new("cancelled");

    /// <summary>True when no reason was set.</summary>
    public bool IsEmpty => string.IsNullOrEmpty(Value);

    public override string ToString() => Value ?? "";
}
