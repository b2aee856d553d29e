using System.Text.Json;
using System.Text.Json.Serialization;

namespace IntegrationApi.OpenAICompatible;

// OpenAI's Chat Completions wire format (https://platform.openai.com/docs/api-reference/chat), as far as this surface
// reads and writes it. Polymorphic fields (content, stop, tool_choice, response_format) stay JsonElement and are read
// by OpenAIRequestMapping; anything else OpenAI defines and we do not use is ignored, as OpenAI-compatible servers do.

internal sealed record CompletionRequest
{
    [JsonPropertyName("model")] public string? Model { get; init; }
    [JsonPropertyName("messages")] public List<CompletionMessage>? Messages { get; init; }
    [JsonPropertyName("tools")] public List<CompletionTool>? Tools { get; init; }
    [JsonPropertyName("tool_choice")] public JsonElement? ToolChoice { get; init; }
    [JsonPropertyName("stream")] public bool? Stream { get; init; }
    [JsonPropertyName("stream_options")] public CompletionStreamOptions? StreamOptions { get; init; }
    [JsonPropertyName("temperature")] public double? Temperature { get; init; }
    [JsonPropertyName("top_p")] public double? TopP { get; init; }
    [JsonPropertyName("max_tokens")] public long? MaxTokens { get; init; }
    [JsonPropertyName("max_completion_tokens")] public long? MaxCompletionTokens { get; init; }
    [JsonPropertyName("stop")] public JsonElement? Stop { get; init; }
    [JsonPropertyName("response_format")] public JsonElement? ResponseFormat { get; init; }
    [JsonPropertyName("seed")] public long? Seed { get; init; }
    [JsonPropertyName("user")] public string? User { get; init; }
    [JsonPropertyName("frequency_penalty")] public double? FrequencyPenalty { get; init; }
    [JsonPropertyName("presence_penalty")] public double? PresencePenalty { get; init; }
    [JsonPropertyName("reasoning_effort")] public string? ReasoningEffort { get; init; }
    [JsonPropertyName("service_tier")] public string? ServiceTier { get; init; }
    [JsonPropertyName("top_logprobs")] public long? TopLogprobs { get; init; }
    [JsonPropertyName("metadata")] public JsonElement? Metadata { get; init; }
    [JsonPropertyName("n")] public int? N { get; init; }
    /// <summary>Extension: further <c>&lt;provider&gt;/&lt;model&gt;</c> targets tried in order (docs/openai-http.md).</summary>
    [JsonPropertyName("fallbacks")] public List<string>? Fallbacks { get; init; }
    /// <summary>Extension: start the next fallback in parallel when no first token came within this (contract §9).</summary>
    [JsonPropertyName("hedge_after_ms")] public uint? HedgeAfterMs { get; init; }
}

internal sealed record CompletionStreamOptions
{
    [JsonPropertyName("include_usage")] public bool? IncludeUsage { get; init; }
}

internal sealed record CompletionMessage
{
    [JsonPropertyName("role")] public string? Role { get; init; }
    [JsonPropertyName("content")] public JsonElement? Content { get; init; }
    [JsonPropertyName("name")] public string? Name { get; init; }
    [JsonPropertyName("tool_call_id")] public string? ToolCallId { get; init; }
    [JsonPropertyName("tool_calls")] public List<CompletionToolCall>? ToolCalls { get; init; }
}

internal sealed record CompletionToolCall
{
    [JsonPropertyName("id")] public string? Id { get; init; }
    [JsonPropertyName("type")] public string? Type { get; init; }
    [JsonPropertyName("function")] public CompletionFunctionCall? Function { get; init; }
}

internal sealed record CompletionFunctionCall
{
    [JsonPropertyName("name")] public string? Name { get; init; }
    [JsonPropertyName("arguments")] public string? Arguments { get; init; }
}

internal sealed record CompletionTool
{
    [JsonPropertyName("type")] public string? Type { get; init; }
    [JsonPropertyName("function")] public CompletionFunction? Function { get; init; }
}

internal sealed record CompletionFunction
{
    [JsonPropertyName("name")] public string? Name { get; init; }
    [JsonPropertyName("description")] public string? Description { get; init; }
    [JsonPropertyName("parameters")] public JsonElement? Parameters { get; init; }
}

internal sealed record EmbeddingsBody
{
    [JsonPropertyName("model")] public string? Model { get; init; }
    /// <summary>A string or an array of strings (token arrays are refused).</summary>
    [JsonPropertyName("input")] public JsonElement? Input { get; init; }
    [JsonPropertyName("encoding_format")] public string? EncodingFormat { get; init; }
    [JsonPropertyName("dimensions")] public int? Dimensions { get; init; }
    [JsonPropertyName("user")] public string? User { get; init; }
}

// ---- responses ----

internal sealed record Completion(
    [property: JsonPropertyName("id")] string Id,
    [property: JsonPropertyName("created")] long Created,
    [property: JsonPropertyName("model")] string Model,
    [property: JsonPropertyName("choices")] IReadOnlyList<CompletionChoice> Choices,
    [property: JsonPropertyName("usage")] CompletionUsage? Usage)
{
    [JsonPropertyName("object")] public string Object => "chat.completion";
}

internal sealed record CompletionChoice(
    [property: JsonPropertyName("index")] int Index,
    [property: JsonPropertyName("message")] CompletionAnswer Message,
    [property: JsonPropertyName("finish_reason"), JsonIgnore(Condition = JsonIgnoreCondition.Never)] string? FinishReason);

internal sealed record CompletionAnswer(
    [property: JsonPropertyName("content"), JsonIgnore(Condition = JsonIgnoreCondition.Never)] string? Content,
    [property: JsonPropertyName("tool_calls")] IReadOnlyList<CompletionToolCallOut>? ToolCalls)
{
    [JsonPropertyName("role")] public string Role => "assistant";
}

internal sealed record CompletionToolCallOut(
    [property: JsonPropertyName("index")] int? Index,
    [property: JsonPropertyName("id")] string? Id,
    [property: JsonPropertyName("type")] string? Type,
    [property: JsonPropertyName("function")] CompletionFunctionCall Function);

internal sealed record CompletionUsage(
    [property: JsonPropertyName("prompt_tokens")] long PromptTokens,
    [property: JsonPropertyName("completion_tokens")] long CompletionTokens,
    [property: JsonPropertyName("total_tokens")] long TotalTokens,
    [property: JsonPropertyName("prompt_tokens_details")] PromptTokensDetails? PromptDetails,
    [property: JsonPropertyName("completion_tokens_details")] CompletionTokensDetails? CompletionDetails);

internal sealed record PromptTokensDetails([property: JsonPropertyName("cached_tokens")] long CachedTokens);

internal sealed record CompletionTokensDetails([property: JsonPropertyName("reasoning_tokens")] long ReasoningTokens);

internal sealed record CompletionChunk(
    [property: JsonPropertyName("id")] string Id,
    [property: JsonPropertyName("created")] long Created,
    [property: JsonPropertyName("model")] string Model,
    [property: JsonPropertyName("choices")] IReadOnlyList<ChunkChoice> Choices,
    [property: JsonPropertyName("usage")] CompletionUsage? Usage = null)
{
    [JsonPropertyName("object")] public string Object => "chat.completion.chunk";
}

internal sealed record ChunkChoice(
    [property: JsonPropertyName("index")] int Index,
    [property: JsonPropertyName("delta")] ChunkDelta Delta,
    [property: JsonPropertyName("finish_reason"), JsonIgnore(Condition = JsonIgnoreCondition.Never)] string? FinishReason);

internal sealed record ChunkDelta(
    [property: JsonPropertyName("role")] string? Role = null,
    [property: JsonPropertyName("content")] string? Content = null,
    [property: JsonPropertyName("tool_calls")] IReadOnlyList<CompletionToolCallOut>? ToolCalls = null);

internal sealed record ModelList([property: JsonPropertyName("data")] IReadOnlyList<ModelEntry> Data)
{
    [JsonPropertyName("object")] public string Object => "list";
}

internal sealed record ModelEntry(
    [property: JsonPropertyName("id")] string Id,
    [property: JsonPropertyName("owned_by")] string OwnedBy)
{
    [JsonPropertyName("object")] public string Object => "model";
    [JsonPropertyName("created")] public long Created => 0;
}

internal sealed record ErrorBody([property: JsonPropertyName("error")] ErrorDetail Error);

internal sealed record ErrorDetail(
    [property: JsonPropertyName("message")] string Message,
    [property: JsonPropertyName("type")] string Type,
    [property: JsonPropertyName("code")] string Code)
{
    [JsonPropertyName("param"), JsonIgnore(Condition = JsonIgnoreCondition.Never)] public string? Param => null;
}

[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull, MaxDepth = 64)]
[JsonSerializable(typeof(CompletionRequest))]
[JsonSerializable(typeof(EmbeddingsBody))]
[JsonSerializable(typeof(Completion))]
[JsonSerializable(typeof(CompletionChunk))]
[JsonSerializable(typeof(ModelList))]
[JsonSerializable(typeof(ErrorBody))]
internal sealed partial class OpenAIWireContext : JsonSerializerContext;
