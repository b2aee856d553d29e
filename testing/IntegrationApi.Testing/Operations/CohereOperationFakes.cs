using System.Text.Json;
using System.Text.Json.Nodes;

namespace IntegrationApi.Testing;

/// <summary>
/// Cohere's <c>POST /v2/embed</c> (https://docs.cohere.com/reference/embed): at most 96 texts, none empty, an <c>input_type</c>
/// for v3+ models, <c>output_dimension</c> only 256/512/1024/1536 on embed-v4.0; embeddings by type.
/// </summary>
public sealed class CohereEmbedFake : FakeOperation
{
    public override (int Status, string Body)? Reject(RecordedRequest request)
    {
        if (request.Json is not { ValueKind: JsonValueKind.Object } json) return (400, Error("invalid request: body is not JSON"));
        var texts = Strings(json, "texts");
        if (texts is null || texts.Count == 0) return (400, Error("invalid request: texts must be a non-empty list of strings"));
        if (texts.Count > 96) return (400, Error($"invalid request: total number of texts must be at most 96 - received {texts.Count}"));
        if (texts.Any(string.IsNullOrEmpty)) return (400, Error("invalid request: texts must not contain empty strings"));
        if (Text(json, "input_type") is null) return (400, Error("invalid request: valid input_type must be provided with the provided model"));
        if (Int(json, "output_dimension") is { } dims && (Text(json, "model") != "embed-v4.0" || dims is not (256 or 512 or 1024 or 1536)))
            return (400, Error($"invalid request: output_dimension {dims} is not supported for this model"));
        if (Text(json, "truncate") is { } t && t is not ("NONE" or "START" or "END")) return (400, Error("invalid request: truncate must be NONE, START or END"));
        return null;
    }

    public override string Answer(RecordedRequest request, FakeScript script)
    {
        var json = request.Json!.Value;
        var texts = Strings(json, "texts")!;
        var dims = Int(json, "output_dimension") ?? 1536;
        return new JsonObject
        {
            ["id"] = "5807ee2e-0cda-445a-9ec8-864c60a06606",
            ["embeddings"] = new JsonObject
            {
                ["float"] = new JsonArray(texts.Select(t => (JsonNode)new JsonArray(VectorFor(t, dims).Select(x => (JsonNode)JsonValue.Create(x)).ToArray())).ToArray()),
            },
            ["texts"] = new JsonArray(texts.Select(t => (JsonNode)JsonValue.Create(t.ToLowerInvariant())!).ToArray()),
            ["meta"] = new JsonObject
            {
                ["api_version"] = new JsonObject { ["version"] = "2" },
                ["billed_units"] = new JsonObject { ["input_tokens"] = texts.Sum(t => Math.Max(1, t.Length / 4)) },
            },
            ["response_type"] = "embeddings_by_type",
        }.ToJsonString();
    }

    internal static string Error(string message) => new JsonObject { ["id"] = "e0b3bb66-7bd3-4cf1-8bbf-2b5bd1e8d3b5", ["message"] = message }.ToJsonString();
}

/// <summary>
/// Cohere's <c>POST /v2/rerank</c> (https://docs.cohere.com/reference/rerank): a query, at most 1000 text documents; results best
/// first. The fake's relevance is the share of the query's words a document holds (ties: the earlier document first).
/// </summary>
public sealed class CohereRerankFake : FakeOperation
{
    public override (int Status, string Body)? Reject(RecordedRequest request)
    {
        if (request.Json is not { ValueKind: JsonValueKind.Object } json) return (400, CohereEmbedFake.Error("invalid request: body is not JSON"));
        if (string.IsNullOrEmpty(Text(json, "query"))) return (400, CohereEmbedFake.Error("invalid request: query must not be empty"));
        var docs = Strings(json, "documents");
        if (docs is null || docs.Count == 0) return (400, CohereEmbedFake.Error("invalid request: documents must be a non-empty list of strings"));
        if (docs.Count > 1000) return (400, CohereEmbedFake.Error($"invalid request: too many documents, at most 1000 - received {docs.Count}"));
        if (Int(json, "top_n") is < 1) return (400, CohereEmbedFake.Error("invalid request: top_n must be positive"));
        return null;
    }

    public override string Answer(RecordedRequest request, FakeScript script)
    {
        var json = request.Json!.Value;
        var words = Text(json, "query")!.ToLowerInvariant().Split(' ', StringSplitOptions.RemoveEmptyEntries);
        var docs = Strings(json, "documents")!;
        var ranked = docs.Select((d, i) => (Index: i, Score: Math.Round(words.Count(w => d.Contains(w, StringComparison.OrdinalIgnoreCase)) / (double)words.Length * 0.9 + 0.01, 4)))
            .OrderByDescending(r => r.Score).ThenBy(r => r.Index).Take(Int(json, "top_n") ?? docs.Count);
        return new JsonObject
        {
            ["results"] = new JsonArray(ranked.Select(r => (JsonNode)new JsonObject { ["index"] = r.Index, ["relevance_score"] = r.Score }).ToArray()),
            ["id"] = "07734bd2-2473-4f07-94e1-0d9f0e6843cf",
            ["meta"] = new JsonObject { ["api_version"] = new JsonObject { ["version"] = "2" }, ["billed_units"] = new JsonObject { ["search_units"] = 1 } },
        }.ToJsonString();
    }

    private static readonly CohereEmbedFake Embed = new();
    private static readonly CohereRerankFake Rerank = new();

    /// <summary>Which of Cohere's non-chat endpoints a request is for.</summary>
    public static FakeOperation? For(RecordedRequest request, string basePath) => request.Method != "POST" ? null : request.Path switch
    {
        var p when p == basePath + "/embed" => Embed,
        var p when p == basePath + "/rerank" => Rerank,
        _ => null,
    };
}
