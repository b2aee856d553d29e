using System.Buffers.Binary;
using System.Text.Json;
using System.Text.Json.Serialization;
using IntegrationApi.Chat;
using IntegrationApi.Embeddings;

namespace IntegrationApi.Providers.OpenAICompatible;

/// <summary>
/// The embeddings dialect shared by OpenAI, Azure OpenAI and Mistral (https://platform.openai.com/docs/api-reference/embeddings):
/// <c>{"model","input":[…],"encoding_format","dimensions"}</c> → <c>{"data":[{"index","embedding"}],"usage"}</c>, where an
/// embedding is a number array, or with <c>encoding_format: base64</c> base64 of little-endian float32.
/// </summary>
internal static class OpenAIEmbeddingsWire
{
    /// <summary>The request body; <paramref name="model"/> null leaves it out (Azure names the deployment in the path).</summary>
    public static OpenAIEmbeddingsRequest ToRequest(EmbeddingRequest request, string? model, bool sendEncoding = true) => new()
    {
        Model = model,
        Input = request.Inputs,
        EncodingFormat = sendEncoding ? (request.Options.Encoding == EmbeddingEncoding.Base64 ? "base64" : "float") : null,
        Dimensions = request.Options.Dimensions,
        User = request.Options.User,
    };

    /// <summary>The answer's vectors in input order, with its usage.</summary>
    public static EmbeddingBatch FromResponse(OpenAIEmbeddingsResponse response, int inputs, string provider) =>
        EmbeddingBatch.InOrder(provider, inputs,
            (response.Data ?? []).Select(d => (d.Index, ToVector(d.Embedding, provider))),
            response.Usage is { } u ? new TokenUsage(Input: u.PromptTokens, Total: u.TotalTokens ?? u.PromptTokens) : null);

    /// <summary>An embedding as the answer spells it: a number array, or base64 of little-endian float32.</summary>
    public static float[] ToVector(JsonElement embedding, string provider)
    {
        switch (embedding.ValueKind)
        {
            case JsonValueKind.Array:
                var vector = new float[embedding.GetArrayLength()];
                var i = 0;
                foreach (var x in embedding.EnumerateArray()) vector[i++] = x.GetSingle();
                return vector;
            case JsonValueKind.String:
                byte[] bytes;
                try { bytes = Convert.FromBase64String(embedding.GetString()!); }
                catch (FormatException) { break; }
                if (bytes.Length % 4 != 0) break;
                var floats = new float[bytes.Length / 4];
                for (var j = 0; j < floats.Length; j++) floats[j] = BinaryPrimitives.ReadSingleLittleEndian(bytes.AsSpan(j * 4));
                return floats;
        }
        throw new ProviderException(ProviderErrorKind.BadResponse, provider, $"{provider} answered an embedding that is neither numbers nor base64 float32", retryable: false);
    }
}

internal sealed record OpenAIEmbeddingsRequest
{
    [JsonPropertyName("model")] public string? Model { get; init; }
    [JsonPropertyName("input")] public required IReadOnlyList<string> Input { get; init; }
    [JsonPropertyName("encoding_format")] public string? EncodingFormat { get; init; }
    [JsonPropertyName("dimensions")] public int? Dimensions { get; init; }
    [JsonPropertyName("user")] public string? User { get; init; }
    /// <summary>Mistral's name for <c>dimensions</c>.</summary>
    [JsonPropertyName("output_dimension")] public int? OutputDimension { get; init; }
}

internal sealed record OpenAIEmbeddingsResponse(
    [property: JsonPropertyName("data")] IReadOnlyList<OpenAIEmbeddingData>? Data,
    [property: JsonPropertyName("model")] string? Model,
    [property: JsonPropertyName("usage")] OpenAIEmbeddingsUsage? Usage);

internal sealed record OpenAIEmbeddingData(
    [property: JsonPropertyName("index")] int Index,
    [property: JsonPropertyName("embedding")] JsonElement Embedding);

internal sealed record OpenAIEmbeddingsUsage(
    [property: JsonPropertyName("prompt_tokens")] long? PromptTokens,
    [property: JsonPropertyName("total_tokens")] long? TotalTokens);

[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(OpenAIEmbeddingsRequest))]
[JsonSerializable(typeof(OpenAIEmbeddingsResponse))]
internal sealed partial class OpenAIEmbeddingsJsonContext : JsonSerializerContext;
