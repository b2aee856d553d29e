using System.Text.Json;
using System.Text.Json.Serialization;

namespace IntegrationApi.Providers.GoogleGenAI;

// Wire shapes of generateContent, shared by the Gemini API (https://ai.google.dev/api/generate-content) and
// Vertex AI (https://cloud.google.com/vertex-ai/generative-ai/docs/reference/rest/v1/projects.locations.endpoints/streamGenerateContent).

internal sealed record GoogleRequest
{
    [JsonPropertyName("contents")] public required IReadOnlyList<GoogleContent> Contents { get; init; }
    [JsonPropertyName("systemInstruction")] public GoogleContent? SystemInstruction { get; init; }
    [JsonPropertyName("tools")] public IReadOnlyList<GoogleTool>? Tools { get; init; }
    [JsonPropertyName("toolConfig")] public GoogleToolConfig? ToolConfig { get; init; }
    [JsonPropertyName("generationConfig")] public GoogleGenerationConfig? GenerationConfig { get; init; }
}

internal sealed record GoogleContent(
    [property: JsonPropertyName("role")] string? Role,
    [property: JsonPropertyName("parts")] IReadOnlyList<GooglePart>? Parts);

internal sealed record GooglePart
{
    [JsonPropertyName("text")] public string? Text { get; init; }
    [JsonPropertyName("thought")] public bool? Thought { get; init; }
    [JsonPropertyName("inlineData")] public GoogleBlob? InlineData { get; init; }
    [JsonPropertyName("fileData")] public GoogleFileData? FileData { get; init; }
    [JsonPropertyName("functionCall")] public GoogleFunctionCall? FunctionCall { get; init; }
    [JsonPropertyName("functionResponse")] public GoogleFunctionResponse? FunctionResponse { get; init; }
    /// <summary>Opaque state of a thinking model, to be sent back on the same part (https://ai.google.dev/gemini-api/docs/thought-signatures).</summary>
    [JsonPropertyName("thoughtSignature")] public string? ThoughtSignature { get; init; }
}

internal sealed record GoogleBlob([property: JsonPropertyName("mimeType")] string MimeType, [property: JsonPropertyName("data")] string Data);

internal sealed record GoogleFileData([property: JsonPropertyName("mimeType")] string MimeType, [property: JsonPropertyName("fileUri")] string FileUri);

internal sealed record GoogleFunctionCall
{
    [JsonPropertyName("id")] public string? Id { get; init; }
    [JsonPropertyName("name")] public string? Name { get; init; }
    [JsonPropertyName("args")] public JsonElement? Args { get; init; }
    /// <summary>Vertex AI's streamed arguments: the call goes on in the next nameless <c>functionCall</c> parts until one without it.</summary>
    [JsonPropertyName("willContinue")] public bool? WillContinue { get; init; }
    [JsonPropertyName("partialArgs")] public IReadOnlyList<GooglePartialArg>? PartialArgs { get; init; }
}

/// <summary>A piece of a streamed call's arguments: the value at <c>jsonPath</c>, a string continued by the next piece at that path.</summary>
internal sealed record GooglePartialArg
{
    [JsonPropertyName("jsonPath")] public string? JsonPath { get; init; }
    [JsonPropertyName("stringValue")] public string? StringValue { get; init; }
    [JsonPropertyName("numberValue")] public JsonElement? NumberValue { get; init; }
    [JsonPropertyName("boolValue")] public bool? BoolValue { get; init; }
    [JsonPropertyName("nullValue")] public JsonElement? NullValue { get; init; }
}

internal sealed record GoogleFunctionResponse
{
    [JsonPropertyName("id")] public string? Id { get; init; }
    [JsonPropertyName("name")] public required string Name { get; init; }
    [JsonPropertyName("response")] public required JsonElement Response { get; init; }
}

internal sealed record GoogleTool([property: JsonPropertyName("functionDeclarations")] IReadOnlyList<GoogleFunctionDeclaration> FunctionDeclarations);

internal sealed record GoogleFunctionDeclaration(
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("description")] string? Description,
    [property: JsonPropertyName("parameters")] GoogleSchema Parameters);

/// <summary>
/// A tool's JSON schema, written with the upper-case type names of the API's OpenAPI-style Schema
/// (https://ai.google.dev/api/caching#Schema) straight from the schema parsed at the edge: no copy, no re-parse.
/// </summary>
[JsonConverter(typeof(GoogleSchemaConverter))]
internal sealed record GoogleSchema(JsonElement JsonSchema);

internal sealed class GoogleSchemaConverter : JsonConverter<GoogleSchema>
{
    public override GoogleSchema Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        using var doc = JsonDocument.ParseValue(ref reader);
        return new GoogleSchema(doc.RootElement.Clone());
    }

    public override void Write(Utf8JsonWriter writer, GoogleSchema value, JsonSerializerOptions options) => Write(writer, value.JsonSchema);

    private static void Write(Utf8JsonWriter w, JsonElement e)
    {
        switch (e.ValueKind)
        {
            case JsonValueKind.Object:
                w.WriteStartObject();
                foreach (var p in e.EnumerateObject())
                {
                    if (p.NameEquals("type") && p.Value.ValueKind == JsonValueKind.String)
                    {
                        w.WriteString(p.Name, p.Value.GetString()!.ToUpperInvariant());
                        continue;
                    }
                    w.WritePropertyName(p.Name);
                    Write(w, p.Value);
                }
                w.WriteEndObject();
                break;
            case JsonValueKind.Array:
                w.WriteStartArray();
                foreach (var item in e.EnumerateArray()) Write(w, item);
                w.WriteEndArray();
                break;
            default:
                e.WriteTo(w);
                break;
        }
    }
}

internal sealed record GoogleToolConfig([property: JsonPropertyName("functionCallingConfig")] GoogleFunctionCallingConfig FunctionCallingConfig);

internal sealed record GoogleFunctionCallingConfig([property: JsonPropertyName("mode")] string Mode);

internal sealed record GoogleGenerationConfig
{
    [JsonPropertyName("temperature")] public double? Temperature { get; init; }
    [JsonPropertyName("topP")] public double? TopP { get; init; }
    [JsonPropertyName("topK")] public long? TopK { get; init; }
    [JsonPropertyName("maxOutputTokens")] public long? MaxOutputTokens { get; init; }
    [JsonPropertyName("stopSequences")] public IReadOnlyList<string>? StopSequences { get; init; }
    [JsonPropertyName("seed")] public long? Seed { get; init; }
    [JsonPropertyName("frequencyPenalty")] public double? FrequencyPenalty { get; init; }
    [JsonPropertyName("presencePenalty")] public double? PresencePenalty { get; init; }
    [JsonPropertyName("responseMimeType")] public string? ResponseMimeType { get; init; }
    [JsonPropertyName("responseSchema")] public JsonElement? ResponseSchema { get; init; }
    /// <summary>Full JSON Schema (https://ai.google.dev/api/generate-content#generationconfig), what OpenAI-style <c>json_schema</c> becomes.</summary>
    [JsonPropertyName("responseJsonSchema")] public JsonElement? ResponseJsonSchema { get; init; }
    [JsonPropertyName("thinkingConfig")] public GoogleThinkingConfig? ThinkingConfig { get; init; }
}

internal sealed record GoogleThinkingConfig(
    [property: JsonPropertyName("includeThoughts")] bool? IncludeThoughts,
    [property: JsonPropertyName("thinkingBudget")] long? ThinkingBudget);

/// <summary>One streamed GenerateContentResponse, or an in-band error.</summary>
internal sealed record GoogleResponse
{
    [JsonPropertyName("candidates")] public IReadOnlyList<GoogleCandidate>? Candidates { get; init; }
    [JsonPropertyName("usageMetadata")] public GoogleUsage? UsageMetadata { get; init; }
    [JsonPropertyName("promptFeedback")] public GooglePromptFeedback? PromptFeedback { get; init; }
    [JsonPropertyName("error")] public GoogleError? Error { get; init; }
}

internal sealed record GoogleCandidate
{
    [JsonPropertyName("content")] public GoogleContent? Content { get; init; }
    [JsonPropertyName("finishReason")] public string? FinishReason { get; init; }
}

internal sealed record GoogleUsage
{
    [JsonPropertyName("promptTokenCount")] public long? PromptTokenCount { get; init; }
    [JsonPropertyName("candidatesTokenCount")] public long? CandidatesTokenCount { get; init; }
    [JsonPropertyName("totalTokenCount")] public long? TotalTokenCount { get; init; }
    [JsonPropertyName("cachedContentTokenCount")] public long? CachedContentTokenCount { get; init; }
    [JsonPropertyName("thoughtsTokenCount")] public long? ThoughtsTokenCount { get; init; }
    [JsonPropertyName("toolUsePromptTokenCount")] public long? ToolUsePromptTokenCount { get; init; }
}

internal sealed record GooglePromptFeedback([property: JsonPropertyName("blockReason")] string? BlockReason);

internal sealed record GoogleErrorBody([property: JsonPropertyName("error")] GoogleError? Error);

internal sealed record GoogleError
{
    [JsonPropertyName("code")] public int? Code { get; init; }
    [JsonPropertyName("message")] public string? Message { get; init; }
    [JsonPropertyName("status")] public string? Status { get; init; }
    [JsonPropertyName("details")] public IReadOnlyList<JsonElement>? Details { get; init; }
}

[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(GoogleRequest))]
[JsonSerializable(typeof(GoogleResponse))]
[JsonSerializable(typeof(GoogleErrorBody))]
internal sealed partial class GoogleJsonContext : JsonSerializerContext;
