using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;

namespace IntegrationApi.Testing;

/// <summary>
/// A loopback Mistral API (https://docs.mistral.ai/api/): OpenAI-style chunks and <c>[DONE]</c>, usage on the finish chunk
/// without asking, tool calls whole in one delta, 422 for <c>stream_options</c> (unknown field), Mistral's error shapes.
/// </summary>
public sealed class MistralFake : OpenAIFake
{
    public static new async Task<MistralFake> StartNewAsync(int port = 0)
    {
        var fake = new MistralFake();
        await fake.StartAsync(port).ConfigureAwait(false);
        return fake;
    }

    protected override void AddResponseHeaders(HttpResponse response)
    {
        response.Headers["x-ratelimit-limit-req-minute"] = "60";
        response.Headers["x-ratelimit-remaining-req-minute"] = "59";
    }

    protected override bool UsageOnFinishChunk => true;

    /// <summary>Magistral (reasoning) models stream <c>delta.content</c> as chunk arrays: thinking chunks, then text chunks.</summary>
    private static bool IsReasoningModel(RecordedRequest request) =>
        request.Json?.TryGetProperty("model", out var m) == true && m.GetString()?.Contains("magistral", StringComparison.Ordinal) == true;

    protected override JsonObject? ReasoningDelta(RecordedRequest request, string text) => IsReasoningModel(request)
        ? new JsonObject { ["content"] = new JsonArray(new JsonObject { ["type"] = "thinking", ["thinking"] = new JsonArray(new JsonObject { ["type"] = "text", ["text"] = text }) }) }
        : null;

    protected override JsonObject TextDelta(RecordedRequest request, string text) => IsReasoningModel(request)
        ? new JsonObject { ["content"] = new JsonArray(new JsonObject { ["type"] = "text", ["text"] = text }) }
        : new JsonObject { ["content"] = text };

    protected override bool WholeToolCalls => true;

    protected override string UnauthorizedBody => """{"detail":"Unauthorized"}""";

    protected override (int Status, string Body)? RejectBody(JsonElement json)
    {
        foreach (var field in new[] { "stream_options", "seed", "user", "service_tier", "logprobs", "metadata" })
            if (json.TryGetProperty(field, out _))
                return (422, new JsonObject
                {
                    ["object"] = "error", ["message"] = $"Extra inputs are not permitted: body.{field}",
                    ["type"] = "invalid_request_message_error", ["param"] = null, ["code"] = null,
                }.ToJsonString());
        // Mistral checks every tool-call id it is sent back (real body, 2025-12).
        foreach (var message in json.GetProperty("messages").EnumerateArray())
        {
            var ids = new List<string>();
            if (message.TryGetProperty("tool_calls", out var calls) && calls.ValueKind == JsonValueKind.Array)
                ids.AddRange(calls.EnumerateArray().Select(c => c.TryGetProperty("id", out var id) ? id.GetString() ?? "" : ""));
            if (message.TryGetProperty("tool_call_id", out var callId)) ids.Add(callId.GetString() ?? "");
            foreach (var id in ids.Where(id => id.Length != 9 || !id.All(char.IsAsciiLetterOrDigit)))
                return (400, new JsonObject
                {
                    ["object"] = "error", ["message"] = $"Tool call id was {id} but must be a-z, A-Z, 0-9, with a length of 9.",
                    ["type"] = "invalid_function_call", ["param"] = null, ["code"] = "3280", ["raw_status_code"] = 400,
                }.ToJsonString());
        }
        return null;
    }

    protected override string ScriptedErrorBody(int status, FakeScript script) => status == 429 && script.ErrorType is null
        ? """{"message":"Requests rate limit exceeded"}"""
        : new JsonObject
        {
            ["object"] = "error", ["message"] = script.ErrorMessage,
            ["type"] = script.ErrorType ?? (status >= 500 ? "internal_server_error" : "invalid_request_error"),
            ["param"] = null, ["code"] = null,
        }.ToJsonString();

    protected override JsonObject Usage(FakeScript s) => new()
    {
        ["prompt_tokens"] = s.InputTokens, ["total_tokens"] = s.InputTokens + s.OutputTokens, ["completion_tokens"] = s.OutputTokens,
    };

    /// <summary><c>/v1/embeddings</c>.</summary>
    protected override FakeOperation? OperationFor(RecordedRequest request) => OpenAIOperations.ForMistral(request, BasePath);
}
