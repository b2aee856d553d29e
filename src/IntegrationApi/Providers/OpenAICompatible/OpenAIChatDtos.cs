using System.Text.Json;
using System.Text.Json.Serialization;

namespace IntegrationApi.Providers.OpenAICompatible;

// Wire shapes of the Chat Completions API (https://platform.openai.com/docs/api-reference/chat), shared by every
// OpenAI-compatible provider. Only the fields we send or read are declared.

internal sealed record OpenAIChatRequest
{
    [JsonPropertyName("model")] public required string Model { get; init; }
    [JsonPropertyName("messages")] public required IReadOnlyList<OpenAIMessage> Messages { get; init; }
    [JsonPropertyName("stream")] public bool Stream { get; init; }
    [JsonPropertyName("stream_options")] public OpenAIStreamOptions? StreamOptions { get; init; }
    [JsonPropertyName("temperature")] public double? Temperature { get; init; }
    [JsonPropertyName("top_p")] public double? TopP { get; init; }
    [JsonPropertyName("max_tokens")] public long? MaxTokens { get; init; }
    [JsonPropertyName("max_completion_tokens")] public long? MaxCompletionTokens { get; init; }
    [JsonPropertyName("stop")] public IReadOnlyList<string>? Stop { get; init; }
    [JsonPropertyName("seed")] public long? Seed { get; init; }
    [JsonPropertyName("random_seed")] public long? RandomSeed { get; init; }
    [JsonPropertyName("user")] public string? User { get; init; }
    [JsonPropertyName("reasoning_effort")] public string? ReasoningEffort { get; init; }
    [JsonPropertyName("service_tier")] public string? ServiceTier { get; init; }
    [JsonPropertyName("logprobs")] public bool? Logprobs { get; init; }
    [JsonPropertyName("top_logprobs")] public long? TopLogprobs { get; init; }
    [JsonPropertyName("metadata")] public JsonElement? Metadata { get; init; }
    [JsonPropertyName("frequency_penalty")] public double? FrequencyPenalty { get; init; }
    [JsonPropertyName("presence_penalty")] public double? PresencePenalty { get; init; }
    [JsonPropertyName("tools")] public IReadOnlyList<OpenAITool>? Tools { get; init; }
    [JsonPropertyName("tool_choice")] public string? ToolChoice { get; init; }
    [JsonPropertyName("response_format")] public JsonElement? ResponseFormat { get; init; }
}

internal sealed record OpenAIStreamOptions([property: JsonPropertyName("include_usage")] bool IncludeUsage);

internal sealed record OpenAIMessage
{
    [JsonPropertyName("role")] public required string Role { get; init; }
    /// <summary>A string, an array of parts, or null (assistant turn with tool calls only).</summary>
    [JsonPropertyName("content")]
    [JsonIgnore(Condition = JsonIgnoreCondition.Never)]
    public OpenAIContent? Content { get; init; }
    [JsonPropertyName("tool_calls")] public IReadOnlyList<OpenAIToolCall>? ToolCalls { get; init; }
    [JsonPropertyName("tool_call_id")] public string? ToolCallId { get; init; }
}

/// <summary>Message content: plain text, or parts (text and image_url) when the turn has images.</summary>
[JsonConverter(typeof(OpenAIContentConverter))]
internal sealed record OpenAIContent(string? Text, IReadOnlyList<OpenAIContentPart>? Parts);

internal sealed record OpenAIContentPart
{
    [JsonPropertyName("type")] public required string Type { get; init; }
    [JsonPropertyName("text")] public string? Text { get; init; }
    [JsonPropertyName("image_url")] public OpenAIImageUrl? ImageUrl { get; init; }
    [JsonPropertyName("input_audio")] public OpenAIInputAudio? InputAudio { get; init; }
    /// <summary>Mistral's <c>thinking</c> chunk: its own list of <c>text</c> chunks (https://docs.mistral.ai/capabilities/reasoning/).</summary>
    [JsonPropertyName("thinking")] public IReadOnlyList<OpenAIContentPart>? Thinking { get; init; }
    /// <summary>Anthropic-style prompt caching, which some compatible APIs accept; never sent by the OpenAI dialect.</summary>
    [JsonPropertyName("cache_control")] public JsonElement? CacheControl { get; init; }
}

internal sealed record OpenAIImageUrl([property: JsonPropertyName("url")] string Url);

/// <summary>Base64 audio and its format (<c>wav</c>, <c>mp3</c>): https://platform.openai.com/docs/guides/audio.</summary>
internal sealed record OpenAIInputAudio(
    [property: JsonPropertyName("data")] string Data,
    [property: JsonPropertyName("format")] string Format);

internal sealed record OpenAITool(
    [property: JsonPropertyName("type")] string Type,
    [property: JsonPropertyName("function")] OpenAIFunctionDefinition Function);

internal sealed record OpenAIFunctionDefinition(
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("description")] string? Description,
    [property: JsonPropertyName("parameters")] JsonElement Parameters);

internal sealed record OpenAIToolCall
{
    [JsonPropertyName("index")] public int? Index { get; init; }
    [JsonPropertyName("id")] public string? Id { get; init; }
    [JsonPropertyName("type")] public string? Type { get; init; }
    [JsonPropertyName("function")] public OpenAIFunctionCall? Function { get; init; }
}

internal sealed record OpenAIFunctionCall
{
    [JsonPropertyName("name")] public string? Name { get; init; }
    [JsonPropertyName("arguments")] public string? Arguments { get; init; }
}

/// <summary>
/// One streamed chunk, the usage-only last chunk, or an in-band error: only what the translation reads
/// (id, model and fingerprint would each be a string allocated per token).
/// </summary>
internal sealed record OpenAIChunk
{
    [JsonPropertyName("choices")] public IReadOnlyList<OpenAIChoice>? Choices { get; init; }
    [JsonPropertyName("usage")] public OpenAIUsage? Usage { get; init; }
    [JsonPropertyName("error")] public OpenAIError? Error { get; init; }
    /// <summary>Set instead of the rest when <see cref="OpenAIChunkReader"/> read a plain text chunk.</summary>
    [JsonIgnore] public string? Text { get; init; }
}

internal sealed record OpenAIChoice
{
    [JsonPropertyName("index")] public int Index { get; init; }
    [JsonPropertyName("delta")] public OpenAIDelta? Delta { get; init; }
    [JsonPropertyName("finish_reason")] public string? FinishReason { get; init; }
}

internal sealed record OpenAIDelta
{
    [JsonPropertyName("role")] public string? Role { get; init; }
    /// <summary>Text, or (Mistral's reasoning models) an array of chunks: <c>thinking</c> chunks, then <c>text</c>.</summary>
    [JsonPropertyName("content")] public OpenAIContent? Content { get; init; }
    [JsonPropertyName("refusal")] public string? Refusal { get; init; }
    [JsonPropertyName("tool_calls")] public IReadOnlyList<OpenAIToolCall>? ToolCalls { get; init; }
}

internal sealed record OpenAIUsage
{
    [JsonPropertyName("prompt_tokens")] public long? PromptTokens { get; init; }
    [JsonPropertyName("completion_tokens")] public long? CompletionTokens { get; init; }
    [JsonPropertyName("total_tokens")] public long? TotalTokens { get; init; }
    [JsonPropertyName("prompt_tokens_details")] public OpenAIPromptTokensDetails? PromptTokensDetails { get; init; }
    [JsonPropertyName("completion_tokens_details")] public OpenAICompletionTokensDetails? CompletionTokensDetails { get; init; }
}

internal sealed record OpenAIPromptTokensDetails([property: JsonPropertyName("cached_tokens")] long? CachedTokens);

internal sealed record OpenAICompletionTokensDetails([property: JsonPropertyName("reasoning_tokens")] long? ReasoningTokens);

internal sealed record OpenAIErrorBody([property: JsonPropertyName("error")] OpenAIError? Error);

internal sealed record OpenAIError
{
    [JsonPropertyName("message")] public string? Message { get; init; }
    [JsonPropertyName("type")] public string? Type { get; init; }
    [JsonPropertyName("param")] public JsonElement? Param { get; init; }
    /// <summary>A string in practice, but some compatible servers send numbers.</summary>
    [JsonPropertyName("code")] public JsonElement? Code { get; init; }

    public string? CodeText => Code is { ValueKind: JsonValueKind.String } c ? c.GetString()
        : Code is { ValueKind: JsonValueKind.Number } n ? n.GetRawText() : null;
}

internal sealed class OpenAIContentConverter : JsonConverter<OpenAIContent>
{
    public override OpenAIContent? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        reader.TokenType switch
        {
            JsonTokenType.String => new OpenAIContent(reader.GetString(), null),
            JsonTokenType.Null => null,
            _ => new OpenAIContent(null, JsonSerializer.Deserialize(ref reader, OpenAIJsonContext.Default.IReadOnlyListOpenAIContentPart)),
        };

    public override void Write(Utf8JsonWriter writer, OpenAIContent value, JsonSerializerOptions options)
    {
        if (value.Parts is null) writer.WriteStringValue(value.Text);
        else JsonSerializer.Serialize(writer, value.Parts, OpenAIJsonContext.Default.IReadOnlyListOpenAIContentPart);
    }
}

[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(OpenAIChatRequest))]
[JsonSerializable(typeof(OpenAIChunk))]
[JsonSerializable(typeof(OpenAIErrorBody))]
[JsonSerializable(typeof(IReadOnlyList<OpenAIContentPart>))]
internal sealed partial class OpenAIJsonContext : JsonSerializerContext;
