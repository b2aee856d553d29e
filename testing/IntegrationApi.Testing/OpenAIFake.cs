using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;

namespace IntegrationApi.Testing;

/// <summary>
/// A loopback OpenAI Chat Completions server (<c>POST /v1/chat/completions</c>) answering in the recorded
/// format of https://platform.openai.com/docs/api-reference/chat-streaming: data-only SSE, a role chunk, content and tool-call deltas by index, a finish
/// chunk with <c>delta:{}</c>, a <c>choices:[]</c> usage chunk when <c>stream_options.include_usage</c>, <c>[DONE]</c>.
/// </summary>
public class OpenAIFake : FakeProviderServer
{
    private static long s_counter;

    /// <summary>Starts a fake on a free loopback port.</summary>
    public static async Task<OpenAIFake> StartNewAsync(int port = 0)
    {
        var fake = new OpenAIFake();
        await fake.StartAsync(port).ConfigureAwait(false);
        return fake;
    }

    protected override void AddResponseHeaders(HttpResponse response)
    {
        response.Headers["x-request-id"] = "req_" + Interlocked.Increment(ref s_counter).ToString("x8");
        response.Headers["openai-processing-ms"] = "1";
        response.Headers["x-ratelimit-limit-requests"] = "10000";
        response.Headers["x-ratelimit-remaining-requests"] = "9999";
        response.Headers["x-ratelimit-reset-requests"] = "6ms";
    }

    /// <summary>Whether the request carries the valid key in this API's auth header.</summary>
    protected virtual bool IsAuthorized(RecordedRequest request) => request.Header("authorization") == "Bearer " + ValidKey;

    /// <summary>The body of this API's 401.</summary>
    protected virtual string UnauthorizedBody =>
        Error("Incorrect API key provided. You can find your API key at https://platform.openai.com/account/api-keys.", "invalid_request_error", "invalid_api_key");

    /// <summary>Whether the path is this API's chat completions route.</summary>
    protected virtual bool IsChatPath(RecordedRequest request) => request.Path.EndsWith("/chat/completions", StringComparison.Ordinal);

    /// <summary>A dialect-specific refusal of the body (e.g. Mistral's unknown fields), or null.</summary>
    protected virtual (int Status, string Body)? RejectBody(JsonElement json) => null;

    /// <summary>Mistral attaches usage to the finish chunk instead of a separate, opt-in usage chunk.</summary>
    protected virtual bool UsageOnFinishChunk => false;

    /// <summary>Mistral sends each tool call whole in one delta.</summary>
    protected virtual bool WholeToolCalls => false;

    /// <summary>The delta of one reasoning chunk (Mistral's thinking chunk), or null when the API streams no reasoning (OpenAI's Chat Completions).</summary>
    protected virtual JsonObject? ReasoningDelta(RecordedRequest request, string text) => null;

    /// <summary>The delta of one text chunk.</summary>
    protected virtual JsonObject TextDelta(RecordedRequest request, string text) => new() { ["content"] = text };

    /// <summary>Extra fields of each streamed choice (Azure's content_filter_results).</summary>
    protected virtual void DecorateChoice(JsonObject choice) { }

    /// <summary>Chunks before the first one (Azure's prompt-filter chunk).</summary>
    protected virtual IEnumerable<string> Preamble(RecordedRequest request) => [];

    protected override (string Method, string Path) VerifyRoute => ("GET", BasePath + "/models");

    protected override (int Status, string Body)? CheckCredential(RecordedRequest request) => IsAuthorized(request) ? null : (401, UnauthorizedBody);

    protected override (int Status, string Body)? Reject(RecordedRequest request)
    {
        if (request.Method != "POST" || !IsChatPath(request))
            return (404, Error("Invalid URL (" + request.Method + " " + request.Path + ")", "invalid_request_error", null));
        if (!IsAuthorized(request))
            return (401, UnauthorizedBody);
        if (request.Json is not { ValueKind: JsonValueKind.Object } json)
            return (400, Error("We could not parse the JSON body of your request.", "invalid_request_error", null));
        if (!json.TryGetProperty("model", out _)) return (400, Error("you must provide a model parameter", "invalid_request_error", null));
        if (!json.TryGetProperty("messages", out var m) || m.GetArrayLength() == 0)
            return (400, Error("[] is too short - 'messages'", "invalid_request_error", null));
        return RejectBody(json);
    }

    protected override bool IsStreaming(RecordedRequest request) =>
        request.Json?.TryGetProperty("stream", out var s) == true && s.ValueKind == JsonValueKind.True;

    protected override string ErrorBody(int status, FakeScript script) => ScriptedErrorBody(status, script);

    /// <summary>This API's error body for a scripted HTTP error.</summary>
    protected virtual string ScriptedErrorBody(int status, FakeScript script)
    {
        var (type, code) = status switch
        {
            400 => ("invalid_request_error", (string?)null),
            401 => ("invalid_request_error", "invalid_api_key"),
            403 => ("request_forbidden", "unsupported_country_region_territory"),
            404 => ("invalid_request_error", "model_not_found"),
            429 => ("requests", "rate_limit_exceeded"),
            _ => ("server_error", null),
        };
        if (script.ErrorType is { } t) code = t;
        if (script.ErrorType == "insufficient_quota") type = "insufficient_quota";
        return Error(script.ErrorMessage, type, code);
    }

    protected override string InBandErrorFrame(FakeScript script) => "data: " + (script.ErrorType switch
    {
        "rate_limit_exceeded" => Error(script.ErrorMessage, "tokens", "rate_limit_exceeded"),
        var type => Error(script.ErrorMessage, type ?? "server_error", null),
    }) + "\n\n";

    protected override string UnaryBody(RecordedRequest request, FakeScript script)
    {
        var message = new JsonObject
        {
            ["role"] = "assistant",
            ["content"] = script.ToolCalls.Count > 0 && script.TextChunks.Count == 0 ? null : script.Text,
            ["refusal"] = null,
            ["annotations"] = new JsonArray(),
        };
        if (script.ToolCalls.Count > 0)
            message["tool_calls"] = new JsonArray(script.ToolCalls.Select(c => (JsonNode)new JsonObject
            {
                ["id"] = c.Id, ["type"] = "function",
                ["function"] = new JsonObject { ["name"] = c.Name, ["arguments"] = c.Arguments },
            }).ToArray());
        var body = Envelope(request, "chat.completion");
        body["choices"] = new JsonArray(new JsonObject
        {
            ["index"] = 0, ["message"] = message, ["logprobs"] = null, ["finish_reason"] = FinishReason(script),
        });
        body["usage"] = Usage(script);
        return body.ToJsonString();
    }

    protected override FakeStreamPlan StreamPlan(RecordedRequest request, FakeScript script)
    {
        var head = new List<string>(Preamble(request));
        var content = new List<string>();
        if (script.TextChunks.Count > 0)
            head.Add(Chunk(request, new JsonObject { ["role"] = "assistant", ["content"] = "", ["refusal"] = null }, null));
        foreach (var reasoning in script.ReasoningChunks)
            if (ReasoningDelta(request, reasoning) is { } delta) content.Add(Chunk(request, delta, null));
        foreach (var text in script.TextChunks)
            content.Add(Chunk(request, TextDelta(request, text), null));
        for (var i = 0; i < script.ToolCalls.Count; i++)
        {
            var call = script.ToolCalls[i];
            var opening = new JsonObject();
            if (i == 0 && script.TextChunks.Count == 0) { opening["role"] = "assistant"; opening["content"] = null; }
            opening["tool_calls"] = new JsonArray(WholeToolCalls
                ? new JsonObject { ["id"] = call.Id, ["function"] = new JsonObject { ["name"] = call.Name, ["arguments"] = call.Arguments }, ["index"] = i }
                : new JsonObject
                {
                    ["index"] = i, ["id"] = call.Id, ["type"] = "function",
                    ["function"] = new JsonObject { ["name"] = call.Name, ["arguments"] = "" },
                });
            if (i == 0 && script.TextChunks.Count == 0) opening["refusal"] = null;
            content.Add(Chunk(request, opening, null));
            if (WholeToolCalls) continue;
            foreach (var fragment in call.ArgumentFragments)
                content.Add(Chunk(request, new JsonObject
                {
                    ["tool_calls"] = new JsonArray(new JsonObject { ["index"] = i, ["function"] = new JsonObject { ["arguments"] = fragment } }),
                }, null));
        }
        var tail = new List<string> { Chunk(request, new JsonObject(), FinishReason(script), UsageOnFinishChunk ? Usage(script) : null) };
        if (!UsageOnFinishChunk && request.Json?.TryGetProperty("stream_options", out var so) == true
            && so.TryGetProperty("include_usage", out var iu) && iu.ValueKind == JsonValueKind.True)
        {
            var usage = Envelope(request, "chat.completion.chunk");
            usage["choices"] = new JsonArray();
            usage["usage"] = Usage(script);
            tail.Add("data: " + usage.ToJsonString() + "\n\n");
        }
        tail.Add("data: [DONE]\n\n");
        return new FakeStreamPlan(head, content, tail);
    }

    private string Chunk(RecordedRequest request, JsonObject delta, string? finishReason, JsonObject? usage = null)
    {
        var chunk = Envelope(request, "chat.completion.chunk");
        var choice = new JsonObject { ["index"] = 0, ["delta"] = delta, ["logprobs"] = null, ["finish_reason"] = finishReason };
        DecorateChoice(choice);
        chunk["choices"] = new JsonArray(choice);
        if (usage is not null) chunk["usage"] = usage;
        return "data: " + chunk.ToJsonString() + "\n\n";
    }

    protected static JsonObject Envelope(RecordedRequest request, string kind) => new()
    {
        ["id"] = "chatcmpl-" + request.GetHashCode().ToString("x8"),
        ["object"] = kind,
        ["created"] = 1727346171,
        ["model"] = request.Json?.TryGetProperty("model", out var m) == true ? m.GetString() + "-2024-08-06" : "gpt-4o-2024-08-06",
        ["system_fingerprint"] = "fp_7568d46099",
    };

    protected virtual JsonObject Usage(FakeScript s) => new()
    {
        ["prompt_tokens"] = s.InputTokens,
        ["completion_tokens"] = s.OutputTokens,
        ["total_tokens"] = s.InputTokens + s.OutputTokens,
        ["prompt_tokens_details"] = new JsonObject { ["cached_tokens"] = s.CachedInputTokens, ["audio_tokens"] = 0 },
        ["completion_tokens_details"] = new JsonObject
        {
            ["reasoning_tokens"] = s.ReasoningTokens, ["audio_tokens"] = 0,
            ["accepted_prediction_tokens"] = 0, ["rejected_prediction_tokens"] = 0,
        },
    };

    private static string FinishReason(FakeScript s) => s.EffectiveFinishReason;

    protected static string Error(string message, string? type, string? code) => new JsonObject
    {
        ["error"] = new JsonObject { ["message"] = message, ["type"] = type, ["param"] = null, ["code"] = code },
    }.ToJsonString();

    /// <summary>The non-chat endpoints: <c>/v1/embeddings</c>, <c>/v1/moderations</c>.</summary>
    protected override FakeOperation? OperationFor(RecordedRequest request) => OpenAIOperations.For(request, BasePath);
}
