using System.Text.Json;
using System.Text.Json.Serialization;

namespace IntegrationApi.Providers.Cohere;

// Wire shapes of Cohere Chat v2 (https://docs.cohere.com/reference/chat, streaming: https://docs.cohere.com/reference/chat-stream).

internal sealed record CohereRequest
{
    [JsonPropertyName("model")] public required string Model { get; init; }
    [JsonPropertyName("messages")] public required IReadOnlyList<CohereMessage> Messages { get; init; }
    [JsonPropertyName("tools")] public IReadOnlyList<CohereTool>? Tools { get; init; }
    [JsonPropertyName("tool_choice")] public string? ToolChoice { get; init; }
    [JsonPropertyName("response_format")] public JsonElement? ResponseFormat { get; init; }
    [JsonPropertyName("max_tokens")] public long? MaxTokens { get; init; }
    [JsonPropertyName("stop_sequences")] public IReadOnlyList<string>? StopSequences { get; init; }
    [JsonPropertyName("temperature")] public double? Temperature { get; init; }
    [JsonPropertyName("p")] public double? P { get; init; }
    [JsonPropertyName("k")] public long? K { get; init; }
    [JsonPropertyName("seed")] public long? Seed { get; init; }
    [JsonPropertyName("frequency_penalty")] public double? FrequencyPenalty { get; init; }
    [JsonPropertyName("presence_penalty")] public double? PresencePenalty { get; init; }
    [JsonPropertyName("stream")] public bool Stream { get; init; }
}

internal sealed record CohereMessage
{
    [JsonPropertyName("role")] public required string Role { get; init; }
    /// <summary>Text, or content blocks (<c>text</c>, <c>image_url</c>) when a user turn has images.</summary>
    [JsonPropertyName("content")] public CohereContent? Content { get; init; }
    [JsonPropertyName("tool_plan")] public string? ToolPlan { get; init; }
    [JsonPropertyName("tool_calls")] public IReadOnlyList<CohereToolCall>? ToolCalls { get; init; }
    [JsonPropertyName("tool_call_id")] public string? ToolCallId { get; init; }
}

/// <summary>Message content: a string, or blocks (https://docs.cohere.com/docs/image-inputs).</summary>
[JsonConverter(typeof(CohereContentConverter))]
internal sealed record CohereContent(string? Text, IReadOnlyList<CohereContentBlock>? Blocks)
{
    public static implicit operator CohereContent?(string? text) => text is null ? null : new(text, null);
}

internal sealed record CohereContentBlock
{
    [JsonPropertyName("type")] public required string Type { get; init; }
    [JsonPropertyName("text")] public string? Text { get; init; }
    [JsonPropertyName("image_url")] public CohereImageUrl? ImageUrl { get; init; }
}

internal sealed record CohereImageUrl([property: JsonPropertyName("url")] string Url);

internal sealed class CohereContentConverter : JsonConverter<CohereContent>
{
    public override CohereContent? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        reader.TokenType switch
        {
            JsonTokenType.String => new CohereContent(reader.GetString(), null),
            JsonTokenType.Null => null,
            _ => new CohereContent(null, JsonSerializer.Deserialize(ref reader, CohereJsonContext.Default.IReadOnlyListCohereContentBlock)),
        };

    public override void Write(Utf8JsonWriter writer, CohereContent value, JsonSerializerOptions options)
    {
        if (value.Blocks is null) writer.WriteStringValue(value.Text);
        else JsonSerializer.Serialize(writer, value.Blocks, CohereJsonContext.Default.IReadOnlyListCohereContentBlock);
    }
}

internal sealed record CohereToolCall
{
    [JsonPropertyName("id")] public string? Id { get; init; }
    [JsonPropertyName("type")] public string? Type { get; init; }
    [JsonPropertyName("function")] public CohereFunction? Function { get; init; }
}

internal sealed record CohereFunction
{
    [JsonPropertyName("name")] public string? Name { get; init; }
    [JsonPropertyName("arguments")] public string? Arguments { get; init; }
}

internal sealed record CohereTool(
    [property: JsonPropertyName("type")] string Type,
    [property: JsonPropertyName("function")] CohereFunctionDefinition Function);

internal sealed record CohereFunctionDefinition(
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("description")] string? Description,
    [property: JsonPropertyName("parameters")] JsonElement Parameters);

/// <summary>Any streamed event; <see cref="Type"/> repeats the SSE event name.</summary>
internal sealed record CohereEvent
{
    [JsonPropertyName("type")] public string? Type { get; init; }
    [JsonPropertyName("index")] public int Index { get; init; }
    [JsonPropertyName("delta")] public CohereDelta? Delta { get; init; }
}

internal sealed record CohereDelta
{
    [JsonPropertyName("message")] public CohereDeltaMessage? Message { get; init; }
    [JsonPropertyName("finish_reason")] public string? FinishReason { get; init; }
    [JsonPropertyName("usage")] public CohereUsage? Usage { get; init; }
}

/// <summary>The <c>delta.message</c> of an event: <c>content</c> and <c>tool_calls</c> are arrays in
/// <c>message-start</c> but single objects in the content and tool-call events, so they stay raw JSON.</summary>
internal sealed record CohereDeltaMessage
{
    [JsonPropertyName("content")] public JsonElement? Content { get; init; }
    [JsonPropertyName("tool_plan")] public string? ToolPlan { get; init; }
    [JsonPropertyName("tool_calls")] public JsonElement? ToolCalls { get; init; }
}

internal sealed record CohereUsage
{
    [JsonPropertyName("billed_units")] public CohereTokens? BilledUnits { get; init; }
    [JsonPropertyName("tokens")] public CohereTokens? Tokens { get; init; }
    [JsonPropertyName("cached_tokens")] public long? CachedTokens { get; init; }
}

internal sealed record CohereTokens
{
    [JsonPropertyName("input_tokens")] public long? InputTokens { get; init; }
    [JsonPropertyName("output_tokens")] public long? OutputTokens { get; init; }
}

internal sealed record CohereErrorBody([property: JsonPropertyName("message")] string? Message);

[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(CohereRequest))]
[JsonSerializable(typeof(IReadOnlyList<CohereContentBlock>))]
[JsonSerializable(typeof(CohereEvent))]
[JsonSerializable(typeof(CohereErrorBody))]
internal sealed partial class CohereJsonContext : JsonSerializerContext;
