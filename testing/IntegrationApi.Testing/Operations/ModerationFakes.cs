using System.Text.Json;
using System.Text.Json.Nodes;

namespace IntegrationApi.Testing;

/// <summary>
/// OpenAI's <c>POST /v1/moderations</c> (https://platform.openai.com/docs/api-reference/moderations): one result per input with
/// <c>flagged</c>, boolean <c>categories</c> and <c>category_scores</c>; a text with "kill" in it scores high on violence.
/// </summary>
public sealed class OpenAIModerationFake : FakeOperation
{
    private static readonly string[] Categories =
    [
        "sexual", "sexual/minors", "harassment", "harassment/threatening", "hate", "hate/threatening", "illicit", "illicit/violent",
        "self-harm", "self-harm/intent", "self-harm/instructions", "violence", "violence/graphic",
    ];

    public override (int Status, string Body)? Reject(RecordedRequest request)
    {
        if (request.Json is not { ValueKind: JsonValueKind.Object } json || !json.TryGetProperty("input", out var input))
            return (400, Error("'input' is a required property"));
        if (input.ValueKind == JsonValueKind.String ? string.IsNullOrEmpty(input.GetString()) : input.ValueKind != JsonValueKind.Array || input.GetArrayLength() == 0)
            return (400, Error("'$.input' is invalid."));
        if (Text(json, "model") is { } model && !model.Contains("moderation", StringComparison.Ordinal))
            return (404, Error($"The model `{model}` does not exist or you do not have access to it."));
        return null;
    }

    public override string Answer(RecordedRequest request, FakeScript script)
    {
        var json = request.Json!.Value;
        var text = json.GetProperty("input") is { ValueKind: JsonValueKind.String } s ? s.GetString()! : string.Join(" ", Strings(json, "input") ?? []);
        var violent = text.Contains("kill", StringComparison.OrdinalIgnoreCase);
        var categories = new JsonObject();
        var scores = new JsonObject();
        foreach (var c in Categories)
        {
            var score = c == "violence" && violent ? 0.9436 : 1.2e-5;
            categories[c] = score > 0.5;
            scores[c] = score;
        }
        return new JsonObject
        {
            ["id"] = "modr-0fake", ["model"] = Text(json, "model") ?? "omni-moderation-latest",
            ["results"] = new JsonArray(new JsonObject { ["flagged"] = violent, ["categories"] = categories, ["category_scores"] = scores }),
        }.ToJsonString();
    }

    private static string Error(string message) =>
        new JsonObject { ["error"] = new JsonObject { ["message"] = message, ["type"] = "invalid_request_error", ["param"] = null, ["code"] = null } }.ToJsonString();
}

/// <summary>
/// Azure AI Content Safety's <c>POST {endpoint}/contentsafety/text:analyze?api-version=…</c>
/// (https://learn.microsoft.com/rest/api/contentsafety/text-operations/analyze-text): <c>Ocp-Apim-Subscription-Key</c>, at most
/// 10 000 characters, <c>categoriesAnalysis</c> with severities 0/2/4/6 (or 0–7 with <c>EightSeverityLevels</c>).
/// A text with "kill" in it is Violence 4, one with "hate" Hate 2.
/// </summary>
public sealed class ContentSafetyFake : FakeOperation
{
    private static readonly string[] AllCategories = ["Hate", "SelfHarm", "Sexual", "Violence"];

    public override bool UsesFakeCredential => false;

    public override (int Status, string Body)? CheckCredential(RecordedRequest request, string validKey) =>
        request.Header("ocp-apim-subscription-key") == validKey ? null
            : (401, """{"error":{"code":"401","message":"Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key for an active subscription and use a correct regional API endpoint for your resource."}}""");

    public override (int Status, string Body)? Reject(RecordedRequest request)
    {
        if (!request.Query.Contains("api-version=", StringComparison.Ordinal)) return (404, Error("404", "Resource not found"));
        if (request.Json is not { ValueKind: JsonValueKind.Object } json || Text(json, "text") is not { } text)
            return (400, Error("InvalidRequestBody", "The request body is invalid: text is required."));
        if (text.Length == 0) return (400, Error("InvalidRequestBody", "The text is empty."));
        if (text.Length > 10_000) return (400, Error("InvalidRequestBody", "The text exceeds the maximum length of 10000 characters."));
        if (Strings(json, "categories") is { } categories && categories.Any(c => !AllCategories.Contains(c)))
            return (400, Error("InvalidRequestBody", "The categories are invalid."));
        if (Text(json, "outputType") is { } type && type is not ("FourSeverityLevels" or "EightSeverityLevels"))
            return (400, Error("InvalidRequestBody", "The outputType is invalid."));
        return null;
    }

    public override string Answer(RecordedRequest request, FakeScript script)
    {
        var json = request.Json!.Value;
        var text = Text(json, "text")!;
        var categories = Strings(json, "categories") ?? AllCategories;
        var analysis = new JsonArray();
        foreach (var c in categories)
        {
            var severity = c == "Violence" && text.Contains("kill", StringComparison.OrdinalIgnoreCase) ? 4
                : c == "Hate" && text.Contains("hate", StringComparison.OrdinalIgnoreCase) ? 2 : 0;
            analysis.Add(new JsonObject { ["category"] = c, ["severity"] = severity });
        }
        return new JsonObject { ["blocklistsMatch"] = new JsonArray(), ["categoriesAnalysis"] = analysis }.ToJsonString();
    }

    public override string? ErrorBody(int status, FakeScript script) => Error(script.ErrorType ?? status.ToString(), script.ErrorMessage);

    private static string Error(string code, string message) => new JsonObject
    {
        ["error"] = new JsonObject { ["code"] = code, ["message"] = message, ["target"] = null, ["details"] = new JsonArray(), ["innererror"] = null },
    }.ToJsonString();
}

/// <summary>Which non-chat endpoint of the OpenAI-shaped fakes a request is for.</summary>
public static class OpenAIOperations
{
    private static readonly OpenAIEmbeddingsFake OpenAIEmbeddings = new();
    private static readonly OpenAIModerationFake OpenAIModeration = new();
    private static readonly AzureEmbeddingsFake AzureEmbeddings = new();
    private static readonly MistralEmbeddingsFake MistralEmbeddings = new();
    private static readonly ContentSafetyFake ContentSafety = new();

    /// <summary>OpenAI: <c>{base}/embeddings</c>, <c>{base}/moderations</c>.</summary>
    public static FakeOperation? For(RecordedRequest request, string basePath) => request.Method != "POST" ? null : request.Path switch
    {
        var p when p == basePath + "/embeddings" => OpenAIEmbeddings,
        var p when p == basePath + "/moderations" => OpenAIModeration,
        _ => null,
    };

    /// <summary>Mistral: <c>/v1/embeddings</c>.</summary>
    public static FakeOperation? ForMistral(RecordedRequest request, string basePath) =>
        request.Method == "POST" && request.Path == basePath + "/embeddings" ? MistralEmbeddings : null;

    /// <summary>Azure: a deployment's <c>/embeddings</c>, and Content Safety's <c>/contentsafety/text:analyze</c> on the same resource.</summary>
    public static FakeOperation? ForAzure(RecordedRequest request) => request.Method != "POST" ? null
        : request.Path.StartsWith("/openai/deployments/", StringComparison.Ordinal) && request.Path.EndsWith("/embeddings", StringComparison.Ordinal)
            && request.Query.Contains("api-version=", StringComparison.Ordinal) ? AzureEmbeddings
        : request.Path == "/contentsafety/text:analyze" ? ContentSafety
        : null;
}
