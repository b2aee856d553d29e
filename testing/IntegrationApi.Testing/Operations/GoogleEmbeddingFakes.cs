using System.Text.Json;
using System.Text.Json.Nodes;

namespace IntegrationApi.Testing;

/// <summary>
/// The Gemini API's <c>models/{m}:embedContent</c> and <c>:batchEmbedContents</c> (https://ai.google.dev/api/embeddings): text
/// parts, at most 100 requests per batch each naming <c>models/{m}</c>, <c>outputDimensionality</c> up to 3072.
/// </summary>
public sealed class GeminiEmbedFake(bool batch) : FakeOperation
{
    public override (int Status, string Body)? Reject(RecordedRequest request)
    {
        if (request.Json is not { ValueKind: JsonValueKind.Object } json) return (400, GoogleError("Invalid JSON payload received."));
        var model = "models/" + request.Path[(request.Path.IndexOf("/models/", StringComparison.Ordinal) + 8)..request.Path.LastIndexOf(':')];
        if (!batch) return Check(json, null);
        if (!json.TryGetProperty("requests", out var requests) || requests.ValueKind != JsonValueKind.Array || requests.GetArrayLength() == 0)
            return (400, GoogleError("* BatchEmbedContentsRequest.requests: requests must not be empty"));
        if (requests.GetArrayLength() > 100) return (400, GoogleError("* BatchEmbedContentsRequest.requests: at most 100 requests can be in one batch"));
        foreach (var r in requests.EnumerateArray())
            if (Check(r, model) is { } refused) return refused;
        return null;
    }

    private static (int, string)? Check(JsonElement r, string? model)
    {
        if (model is not null && Text(r, "model") != model)
            return (400, GoogleError($"* BatchEmbedContentsRequest.model: model in each request must match the batch's ({model})"));
        if (TextOf(r) is not { Length: > 0 }) return (400, GoogleError("* EmbedContentRequest.content: contents is not specified"));
        if (Int(r, "outputDimensionality") is { } d && d is < 1 or > 3072) return (400, GoogleError($"* EmbedContentRequest.output_dimensionality: {d} is out of range"));
        return null;
    }

    private static string? TextOf(JsonElement r) =>
        r.TryGetProperty("content", out var c) && c.TryGetProperty("parts", out var p) && p.ValueKind == JsonValueKind.Array && p.GetArrayLength() > 0
            ? Text(p[0], "text") : null;

    public override string Answer(RecordedRequest request, FakeScript script)
    {
        var json = request.Json!.Value;
        JsonObject Values(JsonElement r) => new()
        {
            ["values"] = new JsonArray(VectorFor(TextOf(r)!, Int(r, "outputDimensionality") ?? 3072).Select(x => (JsonNode)JsonValue.Create(x)).ToArray()),
        };
        return batch
            ? new JsonObject { ["embeddings"] = new JsonArray(json.GetProperty("requests").EnumerateArray().Select(r => (JsonNode)Values(r)).ToArray()) }.ToJsonString()
            : new JsonObject { ["embedding"] = Values(json) }.ToJsonString();
    }

    internal static string GoogleError(string message, int code = 400, string status = "INVALID_ARGUMENT") =>
        new JsonObject { ["error"] = new JsonObject { ["code"] = code, ["message"] = message, ["status"] = status } }.ToJsonString();

    private static readonly GeminiEmbedFake One = new(false);
    private static readonly GeminiEmbedFake Many = new(true);
    private static readonly VertexPredictFake Predict = new();

    /// <summary>Gemini's <c>{base}/models/{m}:embedContent</c> and <c>:batchEmbedContents</c>.</summary>
    public static FakeOperation? ForGemini(RecordedRequest request) => request.Method != "POST" ? null
        : request.Path.EndsWith(":embedContent", StringComparison.Ordinal) ? One
        : request.Path.EndsWith(":batchEmbedContents", StringComparison.Ordinal) ? Many
        : null;

    /// <summary>Vertex's <c>…/publishers/google/models/{m}:predict</c>.</summary>
    public static FakeOperation? ForVertex(RecordedRequest request) =>
        request.Method == "POST" && request.Path.StartsWith("/v1/projects/", StringComparison.Ordinal) && request.Path.EndsWith(":predict", StringComparison.Ordinal) ? Predict : null;
}

/// <summary>
/// Vertex AI's <c>predict</c> on text-embedding models: at most 250 instances (gemini-embedding-001: one), <c>content</c> not
/// empty, <c>outputDimensionality</c> up to 768 (3072 for gemini-embedding-001); per-text token statistics.
/// </summary>
public sealed class VertexPredictFake : FakeOperation
{
    private static string Model(RecordedRequest r) => r.Path[(r.Path.LastIndexOf('/') + 1)..r.Path.LastIndexOf(':')];

    public override (int Status, string Body)? Reject(RecordedRequest request)
    {
        if (request.Json is not { ValueKind: JsonValueKind.Object } json || !json.TryGetProperty("instances", out var instances) || instances.ValueKind != JsonValueKind.Array)
            return (400, GeminiEmbedFake.GoogleError("Invalid JSON payload received. instances is required."));
        var gemini = Model(request).StartsWith("gemini-embedding", StringComparison.Ordinal);
        var max = gemini ? 1 : 250;
        if (instances.GetArrayLength() == 0 || instances.GetArrayLength() > max)
            return (400, GeminiEmbedFake.GoogleError($"{instances.GetArrayLength()} instances were sent; the model takes 1 to {max} per request."));
        foreach (var i in instances.EnumerateArray())
            if (Text(i, "content") is not { Length: > 0 }) return (400, GeminiEmbedFake.GoogleError("The text content is empty."));
        if (json.TryGetProperty("parameters", out var p) && Int(p, "outputDimensionality") is { } d && (d < 1 || d > (gemini ? 3072 : 768)))
            return (400, GeminiEmbedFake.GoogleError($"Unsupported output dimensionality {d}."));
        return null;
    }

    public override string Answer(RecordedRequest request, FakeScript script)
    {
        var json = request.Json!.Value;
        var dims = json.TryGetProperty("parameters", out var p) ? Int(p, "outputDimensionality") ?? 768 : 768;
        var predictions = new JsonArray();
        var chars = 0;
        foreach (var i in json.GetProperty("instances").EnumerateArray())
        {
            var text = Text(i, "content")!;
            chars += text.Length;
            predictions.Add(new JsonObject
            {
                ["embeddings"] = new JsonObject
                {
                    ["statistics"] = new JsonObject { ["truncated"] = false, ["token_count"] = Math.Max(1, text.Length / 4) },
                    ["values"] = new JsonArray(VectorFor(text, dims).Select(x => (JsonNode)JsonValue.Create(x)).ToArray()),
                },
            });
        }
        return new JsonObject { ["predictions"] = predictions, ["metadata"] = new JsonObject { ["billableCharacterCount"] = chars } }.ToJsonString();
    }
}
