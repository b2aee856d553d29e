using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;

namespace IntegrationApi.Testing;

/// <summary>
/// A loopback Gemini API (https://ai.google.dev/api/generate-content): <c>models/{m}:streamGenerateContent?alt=sse</c>, <c>x-goog-api-key</c>,
/// CRLF-framed data-only SSE with no end marker (the last chunk carries <c>finishReason</c>), cumulative
/// <c>usageMetadata</c> on every chunk, whole <c>functionCall</c> parts, <c>": "</c> spacing, Google RPC errors
/// (a bad key is a 400 <c>API_KEY_INVALID</c>; the retry delay is in the body, not a header).
/// </summary>
public class GeminiFake : FakeProviderServer
{
    public static async Task<GeminiFake> StartNewAsync(int port = 0)
    {
        var fake = new GeminiFake();
        await fake.StartAsync(port).ConfigureAwait(false);
        return fake;
    }

    protected override string BasePath => "/v1beta";

    protected override bool RetryAfterInHeader => false;

    /// <summary>Gemini frames SSE with CRLF.</summary>
    protected virtual string LineEnd => "\r\n";

    /// <summary>Gemini's JSON has <c>": "</c> after keys; Vertex's is compact.</summary>
    protected virtual bool SpacedJson => true;

    protected virtual bool IsChatPath(RecordedRequest request) =>
        request.Path.StartsWith("/v1beta/models/", StringComparison.Ordinal)
        && (request.Path.EndsWith(":streamGenerateContent", StringComparison.Ordinal) || request.Path.EndsWith(":generateContent", StringComparison.Ordinal));

    protected override (string Method, string Path) VerifyRoute => ("GET", BasePath + "/models");

    protected override (int Status, string Body)? CheckCredential(RecordedRequest request) => request.Header("x-goog-api-key") switch
    {
        null => (403, Error(403, "PERMISSION_DENIED", "Method doesn't allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API.")),
        var key when key != ValidKey => (400, Error(400, "INVALID_ARGUMENT", "API key not valid. Please pass a valid API key.", new JsonObject
        {
            ["@type"] = "type.googleapis.com/google.rpc.ErrorInfo", ["reason"] = "API_KEY_INVALID", ["domain"] = "googleapis.com",
            ["metadata"] = new JsonObject { ["service"] = "generativelanguage.googleapis.com" },
        })),
        _ => null,
    };

    /// <summary>Per-chunk usage: Gemini repeats cumulative counts on every chunk; Vertex only on the last.</summary>
    protected virtual JsonObject ChunkUsage(FakeScript s, int outputSoFar, bool last) => Usage(s, outputSoFar);

    /// <summary>Fields Vertex adds to every response.</summary>
    protected virtual void Decorate(JsonObject response) { }

    protected override (int Status, string Body)? Reject(RecordedRequest request)
    {
        if (request.Method != "POST" || !IsChatPath(request))
            return (404, Error(404, "NOT_FOUND", $"Requested entity was not found: {request.Path}"));
        if (CheckCredential(request) is { } refused) return refused;
        if (request.Json is not { ValueKind: JsonValueKind.Object } json || !json.TryGetProperty("contents", out var contents) || contents.GetArrayLength() == 0)
            return (400, Error(400, "INVALID_ARGUMENT", "* GenerateContentRequest.contents: contents is not specified"));
        foreach (var content in contents.EnumerateArray())
            if (content.TryGetProperty("role", out var role) && role.GetString() is not ("user" or "model"))
                return (400, Error(400, "INVALID_ARGUMENT", "Please use a valid role: user, model."));
        return RequiresSignatures(request) ? RejectUnsigned(contents) : null;
    }

    /// <summary>The model, from the URL (<c>models/{m}:…</c>).</summary>
    private static string ModelOf(RecordedRequest request)
    {
        var i = request.Path.LastIndexOf("/models/", StringComparison.Ordinal);
        var rest = i < 0 ? "" : request.Path[(i + 8)..];
        return rest.Split(':')[0];
    }

    /// <summary>Gemini 3 validates thought signatures on function calls (since 2026-01); 2.5 returns them but does not check.</summary>
    private static bool RequiresSignatures(RecordedRequest request) => ModelOf(request).StartsWith("gemini-3", StringComparison.Ordinal);

    /// <summary>2.5 and 3 models think, and sign what they answer.</summary>
    private static bool Thinks(RecordedRequest request) => ModelOf(request) is var m && (m.StartsWith("gemini-3", StringComparison.Ordinal) || m.StartsWith("gemini-2.5", StringComparison.Ordinal));

    /// <summary>
    /// The current turn (every content after the last user text) must carry, on each model content's first function call,
    /// the signature the model gave it (https://ai.google.dev/gemini-api/docs/thought-signatures); real error text, 2026.
    /// </summary>
    private static (int Status, string Body)? RejectUnsigned(JsonElement contents)
    {
        var list = contents.EnumerateArray().ToArray();
        var start = 0;
        for (var i = 0; i < list.Length; i++)
            if (list[i].TryGetProperty("role", out var r) && r.GetString() == "user"
                && list[i].GetProperty("parts").EnumerateArray().Any(p => p.TryGetProperty("text", out _)))
                start = i + 1;
        for (var i = start; i < list.Length; i++)
        {
            if (!list[i].TryGetProperty("role", out var role) || role.GetString() != "model") continue;
            var call = list[i].GetProperty("parts").EnumerateArray().FirstOrDefault(p => p.TryGetProperty("functionCall", out _));
            if (call.ValueKind != JsonValueKind.Object) continue;
            var name = call.GetProperty("functionCall").GetProperty("name").GetString() ?? "";
            // The documented stand-in for calls the model did not make (another model's, a client's) passes too.
            if (call.TryGetProperty("thoughtSignature", out var sig) && (sig.GetString() == SignatureFor(name) || sig.GetString() == "skip_thought_signature_validator")) continue;
            return (400, Error(400, "INVALID_ARGUMENT",
                $"Function call is missing a thought_signature in functionCall parts. This is required for tools to work correctly, and missing thought_signature may lead to degraded model performance. Additional data, function call `default_api:{name}` , position {i + 1}. Please refer to https://ai.google.dev/gemini-api/docs/thought-signatures for more details."));
        }
        return null;
    }

    /// <summary>The signature this fake gives a part (real ones are opaque; this one lets the fake check it came back on the right part).</summary>
    public static string SignatureFor(string what) =>
        "Ci" + Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(Encoding.UTF8.GetBytes("fake-thought:" + what)));

    private static bool IncludesThoughts(RecordedRequest request) =>
        request.Json?.TryGetProperty("generationConfig", out var g) == true && g.TryGetProperty("thinkingConfig", out var t)
        && t.TryGetProperty("includeThoughts", out var i) && i.ValueKind == JsonValueKind.True;

    protected override bool IsStreaming(RecordedRequest request) =>
        request.Path.EndsWith(":streamGenerateContent", StringComparison.Ordinal) && request.Query.Contains("alt=sse", StringComparison.Ordinal);

    protected override string ErrorBody(int status, FakeScript script)
    {
        var rpc = script.ErrorType ?? status switch
        {
            400 => "INVALID_ARGUMENT", 401 => "UNAUTHENTICATED", 403 => "PERMISSION_DENIED", 404 => "NOT_FOUND",
            429 => "RESOURCE_EXHAUSTED", 503 => "UNAVAILABLE", 504 => "DEADLINE_EXCEEDED", _ => "INTERNAL",
        };
        JsonObject[] details = script.RetryAfter is { } delay
            ? [new JsonObject { ["@type"] = "type.googleapis.com/google.rpc.RetryInfo", ["retryDelay"] = delay + "s" }]
            : [];
        return Error(status, rpc, script.ErrorMessage, details);
    }

    protected override string InBandErrorFrame(FakeScript script) =>
        "data: " + Json(JsonNode.Parse(Error(500, script.ErrorType ?? "INTERNAL", script.ErrorMessage))!) + LineEnd + LineEnd;

    protected override string MalformedFrame => "data: {\"candidates\": [{\"content\": {\"parts\": [{\"text\": \"unterminated" + LineEnd + LineEnd;

    protected override string UnaryBody(RecordedRequest request, FakeScript script)
    {
        var parts = new JsonArray();
        if (script.TextChunks.Count > 0) parts.Add(new JsonObject { ["text"] = script.Text });
        foreach (var call in script.ToolCalls) parts.Add(FunctionCall(call, Thinks(request) && call == script.ToolCalls[0]));
        var response = Response(parts, FinishReason(script), Usage(script, script.OutputTokens));
        return response.ToJsonString(new JsonSerializerOptions { WriteIndented = true });
    }

    protected override FakeStreamPlan StreamPlan(RecordedRequest request, FakeScript script)
    {
        var content = new List<string>();
        var output = 0;
        var perChunk = Math.Max(1, script.OutputTokens / Math.Max(1, script.TextChunks.Count + (script.ToolCalls.Count > 0 ? 1 : 0)));
        if (IncludesThoughts(request))
            foreach (var thought in script.ReasoningChunks)
                content.Add(Frame(Response(new JsonArray(new JsonObject { ["text"] = thought, ["thought"] = true }), null, ChunkUsage(script, output, last: false))));
        foreach (var text in script.TextChunks)
        {
            output = Math.Min(script.OutputTokens, output + perChunk);
            content.Add(Frame(Response(new JsonArray(new JsonObject { ["text"] = text }), null, ChunkUsage(script, output, last: false))));
        }
        if (script.ToolCalls.Count > 0)
        {
            output = Math.Min(script.OutputTokens, output + perChunk);
            // Parallel calls: only the first carries the step's signature.
            content.Add(Frame(Response(new JsonArray(script.ToolCalls.Select((c, i) => (JsonNode)FunctionCall(c, i == 0 && Thinks(request))).ToArray()), null, ChunkUsage(script, output, last: false))));
        }
        // A thinking model's text answer ends with an empty text part that carries its signature.
        var final = new JsonObject { ["text"] = "" };
        if (Thinks(request) && script.ToolCalls.Count == 0) final["thoughtSignature"] = SignatureFor(script.Text);
        var last = Frame(Response(new JsonArray(final), FinishReason(script), ChunkUsage(script, script.OutputTokens, last: true)));
        return new FakeStreamPlan([], content, [last]);
    }

    private JsonObject Response(JsonArray parts, string? finishReason, JsonObject usage)
    {
        var candidate = new JsonObject { ["content"] = new JsonObject { ["parts"] = parts, ["role"] = "model" } };
        if (finishReason is not null) candidate["finishReason"] = finishReason;
        candidate["index"] = 0;
        var response = new JsonObject
        {
            ["candidates"] = new JsonArray(candidate),
            ["usageMetadata"] = usage,
            ["modelVersion"] = "gemini-2.5-flash",
            ["responseId"] = "IZI2acSKMoWl0-kPmYj2yQc",
        };
        Decorate(response);
        return response;
    }

    private static JsonObject FunctionCall(FakeToolCall call, bool signed)
    {
        var part = new JsonObject { ["functionCall"] = new JsonObject { ["name"] = call.Name, ["args"] = JsonNode.Parse(call.Arguments) } };
        if (signed) part["thoughtSignature"] = SignatureFor(call.Name);
        return part;
    }

    protected static JsonObject Usage(FakeScript s, int output)
    {
        var usage = new JsonObject
        {
            ["promptTokenCount"] = s.InputTokens,
            ["candidatesTokenCount"] = output - Math.Min(output, s.ReasoningTokens),
            ["totalTokenCount"] = s.InputTokens + output,
            ["promptTokensDetails"] = new JsonArray(new JsonObject { ["modality"] = "TEXT", ["tokenCount"] = s.InputTokens }),
        };
        if (s.ReasoningTokens > 0) usage["thoughtsTokenCount"] = Math.Min(output, s.ReasoningTokens);
        if (s.CachedInputTokens > 0) usage["cachedContentTokenCount"] = s.CachedInputTokens;
        return usage;
    }

    private static string FinishReason(FakeScript s) => s.EffectiveFinishReason switch
    {
        "length" => "MAX_TOKENS",
        "content_filter" => "SAFETY",
        _ => "STOP", // a function call also finishes with STOP
    };

    private string Frame(JsonObject response) => "data: " + Json(response) + LineEnd + LineEnd;

    /// <summary>Compact JSON, or with Gemini's <c>": "</c> after each key.</summary>
    private string Json(JsonNode node)
    {
        if (!SpacedJson) return node.ToJsonString();
        var sb = new StringBuilder();
        Write(node, sb);
        return sb.ToString();

        static void Write(JsonNode? n, StringBuilder sb)
        {
            switch (n)
            {
                case JsonObject o:
                    sb.Append('{');
                    var first = true;
                    foreach (var (k, v) in o)
                    {
                        if (!first) sb.Append(',');
                        first = false;
                        sb.Append(JsonSerializer.Serialize(k)).Append(": ");
                        Write(v, sb);
                    }
                    sb.Append('}');
                    break;
                case JsonArray a:
                    sb.Append('[');
                    for (var i = 0; i < a.Count; i++)
                    {
                        if (i > 0) sb.Append(',');
                        Write(a[i], sb);
                    }
                    sb.Append(']');
                    break;
                default:
                    sb.Append(n is null ? "null" : n.ToJsonString());
                    break;
            }
        }
    }

    protected static string Error(int code, string status, string message, params JsonObject[] details)
    {
        var error = new JsonObject { ["code"] = code, ["message"] = message, ["status"] = status };
        if (details.Length > 0) error["details"] = new JsonArray(details.Select(d => (JsonNode)d).ToArray());
        return new JsonObject { ["error"] = error }.ToJsonString(new JsonSerializerOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
    }

    /// <summary><c>models/{m}:embedContent</c> and <c>:batchEmbedContents</c>.</summary>
    protected override FakeOperation? OperationFor(RecordedRequest request) => GeminiEmbedFake.ForGemini(request);
}
