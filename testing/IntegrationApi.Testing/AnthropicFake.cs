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
        if (RejectImages(json.GetProperty("messages")) is { } image) return image;
        return ThinkingEnabled(json) ? RejectThinking(json.GetProperty("messages")) : null;
    }

    /// <summary>Inline images must be JPEG, PNG, GIF or WebP (the API's validation message).</summary>
    private static (int Status, string Body)? RejectImages(JsonElement messages)
    {
        var i = 0;
        foreach (var message in messages.EnumerateArray())
        {
            if (message.TryGetProperty("content", out var content) && content.ValueKind == JsonValueKind.Array)
            {
                var j = 0;
                foreach (var block in content.EnumerateArray())
                {
                    if (block.GetProperty("type").GetString() == "image" && block.TryGetProperty("source", out var source)
                        && source.GetProperty("type").GetString() == "base64"
                        && source.GetProperty("media_type").GetString() is not ("image/jpeg" or "image/png" or "image/gif" or "image/webp"))
                        return (400, Error("invalid_request_error",
                            $"messages.{i}.content.{j}.image.source.base64.media_type: Input should be 'image/jpeg', 'image/png', 'image/gif' or 'image/webp'"));
                    j++;
                }
            }
            i++;
        }
        return null;
    }

    private static bool ThinkingEnabled(JsonElement json) =>
        json.TryGetProperty("thinking", out var t) && t.TryGetProperty("type", out var type) && type.GetString() == "enabled";

    /// <summary>
    /// What the API checks with thinking on (real messages, 2025–2026): every thinking block's signature, and that the
    /// assistant turn before the last tool results starts with its thinking block.
    /// </summary>
    private static (int Status, string Body)? RejectThinking(JsonElement messages)
    {
        var list = messages.EnumerateArray().ToArray();
        for (var i = 0; i < list.Length; i++)
        {
            if (!list[i].TryGetProperty("content", out var content) || content.ValueKind != JsonValueKind.Array) continue;
            var blocks = content.EnumerateArray().ToArray();
            for (var j = 0; j < blocks.Length; j++)
                if (blocks[j].GetProperty("type").GetString() == "thinking"
                    && (!blocks[j].TryGetProperty("signature", out var sig) || sig.GetString() != SignatureFor(blocks[j].GetProperty("thinking").GetString() ?? "")))
                    return (400, Error("invalid_request_error", $"messages.{i}.content.{j}: Invalid `signature` in `thinking` block"));
        }
        var last = list.Length - 1;
        var endsWithResults = last >= 1 && list[last].GetProperty("role").GetString() == "user"
            && list[last].GetProperty("content") is { ValueKind: JsonValueKind.Array } results
            && results.EnumerateArray().Any(b => b.GetProperty("type").GetString() == "tool_result");
        if (!endsWithResults || list[last - 1].GetProperty("role").GetString() != "assistant") return null;
        var first = list[last - 1].GetProperty("content") is { ValueKind: JsonValueKind.Array } a && a.GetArrayLength() > 0 ? a[0].GetProperty("type").GetString() : "text";
        return first is "thinking" or "redacted_thinking" ? null : (400, Error("invalid_request_error",
            $"messages.{last - 1}.content.0.type: Expected `thinking` or `redacted_thinking`, but found `{first}`. When `thinking` is enabled, a final `assistant` message " +
            "must start with a thinking block (preceeding the lastmost set of `tool_use` and `tool_result` blocks). We recommend you include thinking blocks from previous turns. " +
            "To avoid this requirement, disable `thinking`. Please consult our documentation at https://docs.claude.com/en/docs/build-with-claude/extended-thinking"));
    }

    /// <summary>The signature this fake gives a thinking block (the real one is opaque; this one lets the fake check it came back unchanged).</summary>
    public static string SignatureFor(string thinking) =>
        "Eq" + Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes("fake-thinking:" + thinking)));

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
        var thinks = request.Json is { } body && ThinkingEnabled(body);
        if (thinks && script.ReasoningChunks.Count > 0)
        {
            // Recorded shape (extended-thinking docs): thinking_delta events, then one signature_delta, then the block stops.
            content.Add(Event("content_block_start", new JsonObject
            {
                ["type"] = "content_block_start", ["index"] = index,
                ["content_block"] = new JsonObject { ["type"] = "thinking", ["thinking"] = "", ["signature"] = "" },
            }));
            foreach (var thought in script.ReasoningChunks)
                content.Add(Delta(index, new JsonObject { ["type"] = "thinking_delta", ["thinking"] = thought }));
            content.Add(Delta(index, new JsonObject { ["type"] = "signature_delta", ["signature"] = SignatureFor(script.Reasoning) }) + Stop(index));
            index++;
        }
        if (thinks && script.RedactedThinking is { } redacted)
        {
            content.Add(Event("content_block_start", new JsonObject
            {
                ["type"] = "content_block_start", ["index"] = index,
                ["content_block"] = new JsonObject { ["type"] = "redacted_thinking", ["data"] = redacted },
            }) + Stop(index));
            index++;
        }
        if (script.TextChunks.Count > 0)
        {
            var start = Event("content_block_start", new JsonObject
            {
                ["type"] = "content_block_start", ["index"] = index,
                ["content_block"] = new JsonObject { ["type"] = "text", ["text"] = "" },
            });
            if (index == 0)
            {
                head.Add(start);
                head.Add("event: ping\ndata: {\"type\": \"ping\"}\n\n");
            }
            else content.Add(start);
            foreach (var text in script.TextChunks)
                content.Add(Delta(index, new JsonObject { ["type"] = "text_delta", ["text"] = text }));
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
        ["input_tokens"] = s.InputTokens - s.CachedInputTokens - s.CacheWriteTokens,
        ["cache_creation_input_tokens"] = s.CacheWriteTokens,
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
    }.ToJsonString(Unescaped);

    /// <summary>The API writes backticks and quotes in messages as themselves, not as \u0060.</summary>
    private static readonly JsonSerializerOptions Unescaped = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
}
