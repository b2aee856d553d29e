using System.Text.Json;
using System.Text.Json.Serialization;

namespace IntegrationApi.Providers.Replicate;

// Wire shapes of Replicate predictions (https://replicate.com/docs/reference/http#predictions.create) and their
// SSE output stream (https://replicate.com/docs/topics/predictions/streaming).

internal sealed record ReplicateCreateRequest
{
    [JsonPropertyName("version")] public string? Version { get; init; }
    [JsonPropertyName("input")] public required ReplicateInput Input { get; init; }
    [JsonPropertyName("stream")] public bool Stream { get; init; }
}

/// <summary>The input of the common LLM models (meta/meta-llama-3-*-instruct and alike).</summary>
internal sealed record ReplicateInput
{
    [JsonPropertyName("prompt")] public required string Prompt { get; init; }
    [JsonPropertyName("system_prompt")] public string? SystemPrompt { get; init; }
    [JsonPropertyName("max_tokens")] public long? MaxTokens { get; init; }
    [JsonPropertyName("temperature")] public double? Temperature { get; init; }
    [JsonPropertyName("top_p")] public double? TopP { get; init; }
    [JsonPropertyName("top_k")] public long? TopK { get; init; }
    [JsonPropertyName("stop_sequences")] public string? StopSequences { get; init; }
    [JsonPropertyName("presence_penalty")] public double? PresencePenalty { get; init; }
    [JsonPropertyName("frequency_penalty")] public double? FrequencyPenalty { get; init; }
    [JsonPropertyName("seed")] public long? Seed { get; init; }
}

internal sealed record ReplicatePrediction
{
    [JsonPropertyName("id")] public string? Id { get; init; }
    [JsonPropertyName("status")] public string? Status { get; init; }
    [JsonPropertyName("error")] public JsonElement? Error { get; init; }
    [JsonPropertyName("urls")] public ReplicateUrls? Urls { get; init; }
    [JsonPropertyName("metrics")] public ReplicateMetrics? Metrics { get; init; }
}

internal sealed record ReplicateUrls
{
    [JsonPropertyName("get")] public string? Get { get; init; }
    [JsonPropertyName("cancel")] public string? Cancel { get; init; }
    [JsonPropertyName("stream")] public string? Stream { get; init; }
}

internal sealed record ReplicateMetrics
{
    [JsonPropertyName("input_token_count")] public long? InputTokenCount { get; init; }
    [JsonPropertyName("output_token_count")] public long? OutputTokenCount { get; init; }
}

/// <summary>The JSON of <c>error</c> and <c>done</c> events.</summary>
internal sealed record ReplicateEventData
{
    [JsonPropertyName("detail")] public string? Detail { get; init; }
    [JsonPropertyName("reason")] public string? Reason { get; init; }
}

/// <summary>RFC 7807 problem details.</summary>
internal sealed record ReplicateProblem
{
    [JsonPropertyName("title")] public string? Title { get; init; }
    [JsonPropertyName("detail")] public string? Detail { get; init; }
}

[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(ReplicateCreateRequest))]
[JsonSerializable(typeof(ReplicatePrediction))]
[JsonSerializable(typeof(ReplicateEventData))]
[JsonSerializable(typeof(ReplicateProblem))]
internal sealed partial class ReplicateJsonContext : JsonSerializerContext;
