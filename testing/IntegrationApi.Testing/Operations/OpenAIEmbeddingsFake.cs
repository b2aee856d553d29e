using System.Text.Json;
using System.Text.Json.Nodes;

namespace IntegrationApi.Testing;

/// <summary>
/// <c>POST /v1/embeddings</c> as OpenAI answers it (https://platform.openai.com/docs/api-reference/embeddings): at most 2048
/// inputs, none empty; <c>dimensions</c> only for text-embedding-3 models and at most their size; numbers, or base64 of
/// little-endian float32 with <c>encoding_format: base64</c>. Azure OpenAI and Mistral answer the same shape.
/// </summary>
public class OpenAIEmbeddingsFake : FakeOperation
{
    /// <summary>Most inputs per call.</summary>
    public virtual int MaxInputs => 2048;

    /// <summary>Whether the body must name the model (Azure names the deployment in the path instead).</summary>
    protected virtual bool ModelRequired => true;

    /// <summary>Fields the API refuses (Mistral's strict schema), or none.</summary>
    protected virtual IReadOnlyList<string> RefusedFields => [];

    /// <summary>The model's full size.</summary>
    protected virtual int NativeDimensions(string? model) => model == "text-embedding-3-large" ? 3072 : 1536;

    protected virtual string? DimensionsField => "dimensions";

    public override (int Status, string Body)? Reject(RecordedRequest request)
    {
        if (request.Json is not { ValueKind: JsonValueKind.Object } json) return (400, Error("We could not parse the JSON body of your request."));
        foreach (var refused in RefusedFields)
            if (json.TryGetProperty(refused, out _)) return (422, Error($"Extra inputs are not permitted: {refused}"));
        var model = Text(json, "model");
        if (ModelRequired && model is null) return (400, Error("you must provide a model parameter"));
        var input = Strings(json, "input");
        if (input is null) return (400, Error("'input' is a required property"));
        if (input.Count == 0) return (400, Error("'$.input' is invalid. Please check the API reference: https://platform.openai.com/docs/api-reference."));
        if (input.Count > MaxInputs) return (400, Error($"'$.input' is too long: {input.Count} items, at most {MaxInputs}"));
        if (input.Any(string.IsNullOrEmpty)) return (400, Error("'$.input' is invalid. Please check the API reference: https://platform.openai.com/docs/api-reference."));
        if (DimensionsField is { } field && Int(json, field) is { } dims && (dims < 1 || dims > NativeDimensions(model) || model == "text-embedding-ada-002"))
            return (400, Error($"This model does not support specifying dimensions, or {dims} is out of range."));
        if (Text(json, "encoding_format") is { } format && format is not ("float" or "base64"))
            return (400, Error($"'{format}' is not one of ['float', 'base64'] - 'encoding_format'"));
        return null;
    }

    public override string Answer(RecordedRequest request, FakeScript script)
    {
        var json = request.Json!.Value;
        var model = Text(json, "model") ?? "text-embedding-3-small";
        var dims = (DimensionsField is { } f ? Int(json, f) : null) ?? NativeDimensions(model);
        var base64 = Text(json, "encoding_format") == "base64";
        var data = new JsonArray();
        var inputs = Strings(json, "input")!;
        for (var i = 0; i < inputs.Count; i++)
        {
            var vector = VectorFor(inputs[i], dims);
            data.Add(new JsonObject
            {
                ["object"] = "embedding",
                ["index"] = i,
                ["embedding"] = base64 ? Base64(vector) : new JsonArray(vector.Select(x => (JsonNode)JsonValue.Create(x)).ToArray()),
            });
        }
        var tokens = inputs.Sum(t => Math.Max(1, t.Length / 4));
        return new JsonObject
        {
            ["object"] = "list", ["data"] = data, ["model"] = model,
            ["usage"] = new JsonObject { ["prompt_tokens"] = tokens, ["total_tokens"] = tokens },
        }.ToJsonString();
    }

    protected static string Error(string message) =>
        new JsonObject { ["error"] = new JsonObject { ["message"] = message, ["type"] = "invalid_request_error", ["param"] = null, ["code"] = null } }.ToJsonString();
}

/// <summary>Mistral's <c>/v1/embeddings</c>: the OpenAI shape, a strict schema (no <c>dimensions</c>, <c>user</c> or <c>encoding_format</c>), 1024-dimension mistral-embed.</summary>
public sealed class MistralEmbeddingsFake : OpenAIEmbeddingsFake
{
    public override int MaxInputs => 512;

    protected override IReadOnlyList<string> RefusedFields => ["dimensions", "user", "encoding_format"];

    protected override string? DimensionsField => "output_dimension";

    protected override int NativeDimensions(string? model) => model == "codestral-embed" ? 3072 : 1024;

    public override (int Status, string Body)? Reject(RecordedRequest request)
    {
        if (request.Json is { ValueKind: JsonValueKind.Object } json && Int(json, "output_dimension") is not null && Text(json, "model") == "mistral-embed")
            return (400, Error("output_dimension is not supported for mistral-embed"));
        return base.Reject(request);
    }
}

/// <summary>Azure OpenAI's deployment embeddings: the OpenAI shape without a required <c>model</c>.</summary>
public sealed class AzureEmbeddingsFake : OpenAIEmbeddingsFake
{
    protected override bool ModelRequired => false;
}
