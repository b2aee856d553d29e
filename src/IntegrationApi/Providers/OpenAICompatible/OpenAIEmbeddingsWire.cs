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
            (response.Data ?? []).Select(d => (d.Index, d.Embedding ?? throw new ProviderException(ProviderErrorKind.BadResponse, provider, $"{provider} answered an embedding without numbers", retryable: false))),
            response.Usage is { } u ? new TokenUsage(Input: u.PromptTokens, Total: u.TotalTokens ?? u.PromptTokens) : null);

    /// <summary>Little-endian float32 bytes as floats; a length that is not a multiple of 4 is a 502.</summary>
    public static float[] FromFloat32(ReadOnlySpan<byte> bytes, string provider)
    {
        if (bytes.Length % 4 != 0)
            throw new ProviderException(ProviderErrorKind.BadResponse, provider, $"{provider} answered a base64 embedding that is not float32", retryable: false);
        var floats = new float[bytes.Length / 4];
        for (var j = 0; j < floats.Length; j++) floats[j] = BinaryPrimitives.ReadSingleLittleEndian(bytes[(j * 4)..]);
        return floats;
    }
}

/// <summary>
/// Reads an embedding as the answer spells it, straight into floats (no intermediate document): a number array, or a
/// base64 string of little-endian float32. Anything else is a <see cref="JsonException"/> (a 502 from the engine).
/// </summary>
internal sealed class EmbeddingVectorConverter : JsonConverter<float[]>
{
    public override float[] Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType == JsonTokenType.String)
        {
            var text = reader.GetString()!;
            var bytes = new byte[text.Length * 3 / 4 + 3];
            if (!Convert.TryFromBase64String(text, bytes, out var written) || written % 4 != 0)
                throw new JsonException("the embedding is not base64 of float32");
            return OpenAIEmbeddingsWire.FromFloat32(bytes.AsSpan(0, written), "provider");
        }
        if (reader.TokenType != JsonTokenType.StartArray) throw new JsonException("the embedding is neither numbers nor base64");
        var values = new List<float>(1024);
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
            values.Add(reader.TokenType == JsonTokenType.Number ? reader.GetSingle() : throw new JsonException("the embedding holds a non-number"));
        return [.. values];
    }

    public override void Write(Utf8JsonWriter writer, float[] value, JsonSerializerOptions options) => throw new NotSupportedException();
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
    [property: JsonPropertyName("embedding"), JsonConverter(typeof(EmbeddingVectorConverter))] float[]? Embedding);

internal sealed record OpenAIEmbeddingsUsage(
    [property: JsonPropertyName("prompt_tokens")] long? PromptTokens,
    [property: JsonPropertyName("total_tokens")] long? TotalTokens);

[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(OpenAIEmbeddingsRequest))]
[JsonSerializable(typeof(OpenAIEmbeddingsResponse))]
internal sealed partial class OpenAIEmbeddingsJsonContext : JsonSerializerContext;
