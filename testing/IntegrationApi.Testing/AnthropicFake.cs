using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;

namespace IntegrationApi.Testing;

/// <summary>
/// A loopback Anthropic Messages server (<c>POST /v1/messages</c>) answering in the recorded format of
/// https://docs.anthropic.com/en/api/messages-streaming: named events, <c>message_start</c> with input usage, text and <c>tool_use</c> blocks with
/// <c>input_json_delta</c>, <c>ping</c>, <c>message_delta</c> with cumulative output usage, <c>message_stop</c>.
/// </summary>
public sealed class AnthropicFake : FakeProviderServer
{
    private static long s_counter;

    /// <summary>Starts a fake on a free loopback port.</summary>
    public static async Task<AnthropicFake> StartNewAsync(int port = 0)
    {
        var fake = new AnthropicFake();
        await fake.StartAsync(port).ConfigureAwait(false);
        return fake;
    }

    protected override void AddResponseHeaders(HttpResponse response)
    {
        response.Headers["request-id"] = "req_" + Interlocked.Increment(ref s_counter).ToString("x8");
        response.Headers["anthropic-ratelimit-requests-limit"] = "4000";
        response.Headers["anthropic-ratelimit-requests-remaining"] = "3999";
    }

    protected override string MalformedFrame =>
        "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"unterminated\n\n";

    protected override (string Method, string Path) VerifyRoute => ("GET", "/v1/models");

    protected override (int Status, string Body)? CheckCredential(RecordedRequest request)
    {
        // The API takes the key as x-api-key, or as a Bearer token (OAuth; newer SDKs send keys this way too).
        var key = request.Header("x-api-key") ?? (request.Header("authorization") is { } auth && auth.StartsWith("Bearer ", StringComparison.Ordinal) ? auth[7..] : null);
        return key == ValidKey ? null : (401, Error("authentication_error", "invalid x-api-key"));
    }

    protected override (int Status, string Body)? Reject(RecordedRequest request)
    {
        if (request.Method != "POST" || !request.Path.EndsWith("/messages", StringComparison.Ordinal))
            return (404, Error("not_found_error", "Not Found"));
        if (CheckCredential(request) is { } refused) return refused;
        if (request.Header("anthropic-version") is null)
            return (400, Error("invalid_request_error", "anthropic-version: header is required"));
        if (request.Json is not { ValueKind: JsonValueKind.Object } json)
            return (400, Error("invalid_request_error", "The request body is not valid JSON."));
        foreach (var field in new[] { "model", "max_tokens", "messages" })
            if (!json.TryGetProperty(field, out _)) return (400, Error("invalid_request_error", field + ": Field required"));
        foreach (var message in json.GetProperty("messages").EnumerateArray())
            if (message.GetProperty("role").GetString() is not ("user" or "assistant"))
                return (400, Error("invalid_request_error", "messages: roles must be user or assistant"));
        return null;
    }

    protected override bool IsStreaming(RecordedRequest request) =>
        request.Json?.TryGetProperty("stream", out var s) == true && s.ValueKind == JsonValueKind.True;

    protected override string ErrorBody(int status, FakeScript script)
    {
        var type = script.ErrorType ?? status switch
        {
            401 => "authentication_error",
            402 => "billing_error",
            403 => "permission_error",
            404 => "not_found_error",
            413 => "request_too_large",
            429 => "rate_limit_error",
            500 => "api_error",
            504 => "timeout_error",
            529 => "overloaded_error",
            _ => "invalid_request_error",
        };
        return Error(type, script.ErrorMessage);
    }

    protected override string InBandErrorFrame(FakeScript script) =>
        "event: error\ndata: " + new JsonObject
        {
            ["type"] = "error",
            ["error"] = new JsonObject { ["type"] = script.ErrorType ?? "overloaded_error", ["message"] = script.ErrorMessage },
        }.ToJsonString() + "\n\n";

    protected override string UnaryBody(RecordedRequest request, FakeScript script)
    {
        var content = new JsonArray();
        if (script.TextChunks.Count > 0) content.Add(new JsonObject { ["type"] = "text", ["text"] = script.Text });
        foreach (var call in script.ToolCalls)
            content.Add(new JsonObject { ["type"] = "tool_use", ["id"] = call.Id, ["name"] = call.Name, ["input"] = JsonNode.Parse(call.Arguments) });
        return new JsonObject
        {
            ["id"] = "msg_01XFDUDYJgAACzvnptvVoYEL",
            ["type"] = "message",
            ["role"] = "assistant",
            ["model"] = Model(request),
            ["content"] = content,
            ["stop_reason"] = StopReason(script),
            ["stop_sequence"] = null,
            ["usage"] = StartUsage(script, script.OutputTokens),
        }.ToJsonString();
    }

    protected override FakeStreamPlan StreamPlan(RecordedRequest request, FakeScript script)
    {
        var head = new List<string>
        {
            Event("message_start", new JsonObject
            {
                ["type"] = "message_start",
                ["message"] = new JsonObject
                {
                    ["id"] = "msg_019Q1hrJbZG26Fb9BQhrkHEr", ["type"] = "message", ["role"] = "assistant",
                    ["model"] = Model(request), ["content"] = new JsonArray(),
                    ["stop_reason"] = null, ["stop_sequence"] = null, ["usage"] = StartUsage(script, 1),
                },
            }),
        };
        var content = new List<string>();
        var index = 0;
        var open = false;
        if (script.TextChunks.Count > 0)
        {
            head.Add(Event("content_block_start", new JsonObject
            {
                ["type"] = "content_block_start", ["index"] = 0,
                ["content_block"] = new JsonObject { ["type"] = "text", ["text"] = "" },
            }));
            head.Add("event: ping\ndata: {\"type\": \"ping\"}\n\n");
            foreach (var text in script.TextChunks)
                content.Add(Delta(0, new JsonObject { ["type"] = "text_delta", ["text"] = text }));
            open = true;
        }
        foreach (var call in script.ToolCalls)
        {
            var frame = open ? Stop(index++) : "";
            frame += Event("content_block_start", new JsonObject
            {
                ["type"] = "content_block_start", ["index"] = index,
                ["content_block"] = new JsonObject
                {
                    ["type"] = "tool_use", ["id"] = call.Id, ["name"] = call.Name,
                    ["caller"] = new JsonObject { ["type"] = "direct" }, ["input"] = new JsonObject(),
                },
            });
            frame += Delta(index, new JsonObject { ["type"] = "input_json_delta", ["partial_json"] = "" });
            content.Add(frame);
            foreach (var fragment in call.ArgumentFragments)
                content.Add(Delta(index, new JsonObject { ["type"] = "input_json_delta", ["partial_json"] = fragment }));
            open = true;
        }
        var tail = new List<string>();
        if (open) tail.Add(Stop(index));
        tail.Add(Event("message_delta", new JsonObject
        {
            ["type"] = "message_delta",
            ["delta"] = new JsonObject { ["stop_reason"] = StopReason(script), ["stop_sequence"] = null },
            ["usage"] = new JsonObject { ["output_tokens"] = script.OutputTokens },
        }));
        tail.Add(Event("message_stop", new JsonObject { ["type"] = "message_stop" }));
        return new FakeStreamPlan(head, content, tail);
    }

    private static string Delta(int index, JsonObject delta) =>
        Event("content_block_delta", new JsonObject { ["type"] = "content_block_delta", ["index"] = index, ["delta"] = delta });

    private static string Stop(int index) =>
        Event("content_block_stop", new JsonObject { ["type"] = "content_block_stop", ["index"] = index });

    private static string Event(string name, JsonObject data) => "event: " + name + "\ndata: " + data.ToJsonString() + "\n\n";

    private static JsonObject StartUsage(FakeScript s, int output) => new()
    {
        ["input_tokens"] = s.InputTokens - s.CachedInputTokens,
        ["cache_creation_input_tokens"] = 0,
        ["cache_read_input_tokens"] = s.CachedInputTokens,
        ["output_tokens"] = output,
        ["service_tier"] = "standard",
    };

    private static string StopReason(FakeScript s) => s.EffectiveFinishReason switch
    {
        "stop" => "end_turn",
        "length" => "max_tokens",
        "tool_calls" => "tool_use",
        "content_filter" => "refusal",
        var other => other,
    };

    private static string Model(RecordedRequest request) =>
        request.Json?.TryGetProperty("model", out var m) == true ? m.GetString() ?? "" : "claude-sonnet-4-5";

    private static string Error(string type, string message) => new JsonObject
    {
        ["type"] = "error",
        ["error"] = new JsonObject { ["type"] = type, ["message"] = message },
        ["request_id"] = "req_011CSHoEeqs5C35K2UUqR7Fy",
    }.ToJsonString();
}
