using System.Text.Json;
using System.Text.Json.Serialization;

namespace IntegrationApi.Providers.Anthropic;

// Wire shapes of the Messages API (https://docs.anthropic.com/en/api/messages, streaming:
// https://docs.anthropic.com/en/docs/build-with-claude/streaming). Only what we send or read.

internal sealed record AnthropicRequest
{
    [JsonPropertyName("model")] public required string Model { get; init; }
    [JsonPropertyName("max_tokens")] public required long MaxTokens { get; init; }
    [JsonPropertyName("system")] public IReadOnlyList<AnthropicBlock>? System { get; init; }
    [JsonPropertyName("messages")] public required IReadOnlyList<AnthropicMessage> Messages { get; init; }
    [JsonPropertyName("temperature")] public double? Temperature { get; init; }
    [JsonPropertyName("top_p")] public double? TopP { get; init; }
    [JsonPropertyName("top_k")] public long? TopK { get; init; }
    [JsonPropertyName("stop_sequences")] public IReadOnlyList<string>? StopSequences { get; init; }
    [JsonPropertyName("tools")] public IReadOnlyList<AnthropicTool>? Tools { get; init; }
    /// <summary>Structured output (https://docs.claude.com/en/docs/build-with-claude/structured-outputs): <c>{"format":{"type":"json_schema","schema":{…}}}</c>.</summary>
    [JsonPropertyName("output_config")] public AnthropicOutputConfig? OutputConfig { get; init; }
    [JsonPropertyName("tool_choice")] public AnthropicToolChoice? ToolChoice { get; init; }
    [JsonPropertyName("thinking")] public AnthropicThinking? Thinking { get; init; }
    [JsonPropertyName("stream")] public bool Stream { get; init; }
}

internal sealed record AnthropicMessage(
    [property: JsonPropertyName("role")] string Role,
    [property: JsonPropertyName("content")] IReadOnlyList<AnthropicBlock> Content);

/// <summary>A content block: text, image, tool_use, tool_result, thinking or redacted_thinking (fields of the other kinds stay null).</summary>
internal sealed record AnthropicBlock
{
    [JsonPropertyName("type")] public required string Type { get; init; }
    [JsonPropertyName("text")] public string? Text { get; init; }
    [JsonPropertyName("thinking")] public string? Thinking { get; init; }
    [JsonPropertyName("signature")] public string? Signature { get; init; }
    [JsonPropertyName("data")] public string? Data { get; init; }
    [JsonPropertyName("source")] public AnthropicImageSource? Source { get; init; }
    [JsonPropertyName("id")] public string? Id { get; init; }
    [JsonPropertyName("name")] public string? Name { get; init; }
    [JsonPropertyName("input")] public JsonElement? Input { get; init; }
    [JsonPropertyName("tool_use_id")] public string? ToolUseId { get; init; }
    [JsonPropertyName("content")] public string? Content { get; init; }
    [JsonPropertyName("cache_control")] public AnthropicCacheControl? CacheControl { get; init; }
}

/// <summary>An image by URL (<c>type: url</c>) or inline (<c>type: base64</c>, <c>media_type</c>, <c>data</c>).</summary>
internal sealed record AnthropicImageSource
{
    [JsonPropertyName("type")] public required string Type { get; init; }
    [JsonPropertyName("url")] public string? Url { get; init; }
    [JsonPropertyName("media_type")] public string? MediaType { get; init; }
    [JsonPropertyName("data")] public string? Data { get; init; }
}

/// <summary>A prompt-caching breakpoint (https://docs.claude.com/en/docs/build-with-claude/prompt-caching).</summary>
internal sealed record AnthropicCacheControl(
    [property: JsonPropertyName("type")] string Type,
    [property: JsonPropertyName("ttl")] string? Ttl);

internal sealed record AnthropicTool(
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("description")] string? Description,
    [property: JsonPropertyName("input_schema")] JsonElement InputSchema)
{
    [JsonPropertyName("cache_control")] public AnthropicCacheControl? CacheControl { get; init; }
}

internal sealed record AnthropicOutputConfig([property: JsonPropertyName("format")] AnthropicOutputFormat Format);

internal sealed record AnthropicOutputFormat(
    [property: JsonPropertyName("type")] string Type,
    [property: JsonPropertyName("schema")] JsonElement Schema);

internal sealed record AnthropicToolChoice([property: JsonPropertyName("type")] string Type);

internal sealed record AnthropicThinking(
    [property: JsonPropertyName("type")] string Type,
    [property: JsonPropertyName("budget_tokens")] long? BudgetTokens);

/// <summary>Any streamed event; <see cref="Type"/> repeats the SSE event name.</summary>
internal sealed record AnthropicEvent
{
    [JsonPropertyName("type")] public string? Type { get; init; }
    [JsonPropertyName("index")] public int Index { get; init; }
    [JsonPropertyName("message")] public AnthropicMessageStart? Message { get; init; }
    [JsonPropertyName("content_block")] public AnthropicBlockStart? ContentBlock { get; init; }
    [JsonPropertyName("delta")] public AnthropicDelta? Delta { get; init; }
    [JsonPropertyName("usage")] public AnthropicUsage? Usage { get; init; }
    [JsonPropertyName("error")] public AnthropicError? Error { get; init; }
}

internal sealed record AnthropicMessageStart([property: JsonPropertyName("usage")] AnthropicUsage? Usage);

internal sealed record AnthropicBlockStart
{
    [JsonPropertyName("type")] public string? Type { get; init; }
    [JsonPropertyName("text")] public string? Text { get; init; }
    [JsonPropertyName("id")] public string? Id { get; init; }
    [JsonPropertyName("name")] public string? Name { get; init; }
    [JsonPropertyName("thinking")] public string? Thinking { get; init; }
    [JsonPropertyName("signature")] public string? Signature { get; init; }
    [JsonPropertyName("data")] public string? Data { get; init; }
}

internal sealed record AnthropicDelta
{
    [JsonPropertyName("type")] public string? Type { get; init; }
    [JsonPropertyName("text")] public string? Text { get; init; }
    [JsonPropertyName("thinking")] public string? Thinking { get; init; }
    [JsonPropertyName("signature")] public string? Signature { get; init; }
    [JsonPropertyName("partial_json")] public string? PartialJson { get; init; }
    [JsonPropertyName("stop_reason")] public string? StopReason { get; init; }
}

internal sealed record AnthropicUsage
{
    [JsonPropertyName("input_tokens")] public long? InputTokens { get; init; }
    [JsonPropertyName("output_tokens")] public long? OutputTokens { get; init; }
    [JsonPropertyName("cache_creation_input_tokens")] public long? CacheCreationInputTokens { get; init; }
    [JsonPropertyName("cache_read_input_tokens")] public long? CacheReadInputTokens { get; init; }
}

internal sealed record AnthropicError(
    [property: JsonPropertyName("type")] string? Type,
    [property: JsonPropertyName("message")] string? Message);

internal sealed record AnthropicErrorBody([property: JsonPropertyName("error")] AnthropicError? Error);

[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(AnthropicRequest))]
[JsonSerializable(typeof(AnthropicEvent))]
[JsonSerializable(typeof(AnthropicErrorBody))]
internal sealed partial class AnthropicJsonContext : JsonSerializerContext;
