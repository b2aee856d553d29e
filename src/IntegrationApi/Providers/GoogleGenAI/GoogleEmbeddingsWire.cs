using System.Text.Json.Serialization;
using IntegrationApi.Chat;
using IntegrationApi.Embeddings;

namespace IntegrationApi.Providers.GoogleGenAI;

/// <summary>
/// Google's two embedding dialects: the Gemini API's <c>embedContent</c> / <c>batchEmbedContents</c>
/// (https://ai.google.dev/api/embeddings) and Vertex AI's <c>predict</c> on text-embedding models
/// (https://cloud.google.com/vertex-ai/generative-ai/docs/model-reference/text-embeddings-api).
/// </summary>
internal static class GoogleEmbeddingsWire
{
    /// <summary>Gemini <c>embedContent</c>: one text.</summary>
    public static GeminiEmbedRequest ToEmbedContent(string text, EmbeddingOptions o, string? model = null) =>
        new(model, new GeminiEmbedContent([new GeminiEmbedPart(text)]), o.Task, o.Dimensions);

    /// <summary>Gemini <c>batchEmbedContents</c>: each request names the model as <c>models/{model}</c>.</summary>
    public static GeminiBatchEmbedRequest ToBatch(EmbeddingRequest request, string model) =>
        new([.. request.Inputs.Select(t => ToEmbedContent(t, request.Options, "models/" + model))]);

    /// <summary>Vertex <c>predict</c>: one instance per text; <c>model.truncate</c> NONE turns auto-truncation off.</summary>
    public static VertexPredictRequest ToPredict(EmbeddingRequest request)
    {
        if (request.Options.Truncation == "START") throw new ChatRequestException("Vertex AI truncates only at the END (model.truncate NONE or END)");
        return new([.. request.Inputs.Select(t => new VertexInstance(t, request.Options.Task))],
            new VertexParameters(request.Options.Dimensions, request.Options.Truncation is null ? null : request.Options.Truncation != "NONE"));
    }

    public static EmbeddingBatch FromPredict(VertexPredictResponse answer, int inputs, string provider)
    {
        var predictions = answer.Predictions ?? [];
        long? tokens = predictions.Any(p => p.Embeddings?.Statistics?.TokenCount is not null)
            ? predictions.Sum(p => p.Embeddings?.Statistics?.TokenCount ?? 0) : null;
        return EmbeddingBatch.InOrder(provider, inputs, predictions.Select((p, i) => (i, p.Embeddings?.Values ?? Missing(provider))),
            tokens is { } t ? new TokenUsage(Input: t, Total: t) : null);
    }

    public static float[] Missing(string provider) =>
        throw new ProviderException(ProviderErrorKind.BadResponse, provider, $"{provider} answered an embedding without values", retryable: false);
}

internal sealed record GeminiEmbedRequest(
    [property: JsonPropertyName("model")] string? Model,
    [property: JsonPropertyName("content")] GeminiEmbedContent Content,
    [property: JsonPropertyName("taskType")] string? TaskType,
    [property: JsonPropertyName("outputDimensionality")] int? OutputDimensionality);

internal sealed record GeminiEmbedContent([property: JsonPropertyName("parts")] IReadOnlyList<GeminiEmbedPart> Parts);

internal sealed record GeminiEmbedPart([property: JsonPropertyName("text")] string Text);

internal sealed record GeminiBatchEmbedRequest([property: JsonPropertyName("requests")] IReadOnlyList<GeminiEmbedRequest> Requests);

internal sealed record GeminiEmbedResponse([property: JsonPropertyName("embedding")] GeminiEmbeddingValues? Embedding);

internal sealed record GeminiBatchEmbedResponse([property: JsonPropertyName("embeddings")] IReadOnlyList<GeminiEmbeddingValues>? Embeddings);

internal sealed record GeminiEmbeddingValues([property: JsonPropertyName("values")] float[]? Values);

internal sealed record VertexPredictRequest(
    [property: JsonPropertyName("instances")] IReadOnlyList<VertexInstance> Instances,
    [property: JsonPropertyName("parameters")] VertexParameters Parameters);

internal sealed record VertexInstance(
    [property: JsonPropertyName("content")] string Content,
    [property: JsonPropertyName("task_type")] string? TaskType);

internal sealed record VertexParameters(
    [property: JsonPropertyName("outputDimensionality")] int? OutputDimensionality,
    [property: JsonPropertyName("autoTruncate")] bool? AutoTruncate);

internal sealed record VertexPredictResponse([property: JsonPropertyName("predictions")] IReadOnlyList<VertexPrediction>? Predictions);

internal sealed record VertexPrediction([property: JsonPropertyName("embeddings")] VertexEmbeddings? Embeddings);

internal sealed record VertexEmbeddings(
    [property: JsonPropertyName("values")] float[]? Values,
    [property: JsonPropertyName("statistics")] VertexEmbeddingStatistics? Statistics);

internal sealed record VertexEmbeddingStatistics(
    [property: JsonPropertyName("token_count")] long? TokenCount,
    [property: JsonPropertyName("truncated")] bool? Truncated);

[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(GeminiEmbedRequest))]
[JsonSerializable(typeof(GeminiBatchEmbedRequest))]
[JsonSerializable(typeof(GeminiEmbedResponse))]
[JsonSerializable(typeof(GeminiBatchEmbedResponse))]
[JsonSerializable(typeof(VertexPredictRequest))]
[JsonSerializable(typeof(VertexPredictResponse))]
internal sealed partial class GoogleEmbeddingsJsonContext : JsonSerializerContext;
