using System.Text.Json;
using System.Text.Json.Nodes;

namespace IntegrationApi.Testing;

/// <summary>
/// A loopback Cohere Chat v2 (<c>POST /v2/chat</c>, https://docs.cohere.com/reference/chat-stream): named events <c>message-start</c>,
/// <c>content-*</c> or <c>tool-plan-delta</c> + <c>tool-call-start/delta/end</c>, <c>message-end</c> with finish reason
/// and usage (billed units and tokens), then <c>data: [DONE]</c>; errors as <c>{"id","message"}</c>.
/// </summary>
public sealed class CohereFake : FakeProviderServer
{
    public static async Task<CohereFake> StartNewAsync(int port = 0)
    {
        var fake = new CohereFake();
        await fake.StartAsync(port).ConfigureAwait(false);
        return fake;
    }

    protected override string BasePath => "/v2";

    protected override string MalformedFrame => "event: content-delta\ndata: {\"type\":\"content-delta\",\"index\":0,\"delta\":{\"message\":{\"content\":{\"text\":\"unterminated\n\n";

    protected override (string Method, string Path) VerifyRoute => ("POST", "/v1/check-api-key");

    protected override string VerifyBody => """{"valid":true,"organization_id":"org-1","owner_id":"owner-1"}""";

    protected override (int Status, string Body)? CheckCredential(RecordedRequest request) =>
        request.Header("authorization") == "Bearer " + ValidKey ? null : (401, Error("invalid api token"));

    protected override (int Status, string Body)? Reject(RecordedRequest request)
    {
        if (request.Method != "POST" || request.Path != "/v2/chat") return (404, Error("404 page not found"));
        if (CheckCredential(request) is { } refused) return refused;
        if (request.Json is not { ValueKind: JsonValueKind.Object } json || !json.TryGetProperty("model", out _))
            return (400, Error("invalid request: model must be specified"));
        if (!json.TryGetProperty("messages", out var messages) || messages.GetArrayLength() == 0)
            return (400, Error("invalid request: messages must not be empty"));
        if (json.TryGetProperty("tool_choice", out var choice) && choice.GetString() is not ("REQUIRED" or "NONE"))
            return (400, Error("invalid request: tool_choice must be one of REQUIRED, NONE"));
        return null;
    }

    protected override bool IsStreaming(RecordedRequest request) =>
        request.Json?.TryGetProperty("stream", out var s) == true && s.ValueKind == JsonValueKind.True;

    protected override string ErrorBody(int status, FakeScript script) => Error(script.ErrorMessage);

    /// <summary>Cohere documents no in-band error event; a failed generation ends with finish_reason ERROR.</summary>
    protected override string InBandErrorFrame(FakeScript script) =>
        Event("message-end", new JsonObject { ["type"] = "message-end", ["delta"] = new JsonObject { ["finish_reason"] = "ERROR" } });

    protected override string UnaryBody(RecordedRequest request, FakeScript script)
    {
        var message = new JsonObject { ["role"] = "assistant" };
        if (script.ToolCalls.Count > 0)
        {
            message["tool_plan"] = script.Text;
            message["tool_calls"] = new JsonArray(script.ToolCalls.Select(c => (JsonNode)Call(c, c.Arguments)).ToArray());
        }
        else message["content"] = new JsonArray(new JsonObject { ["type"] = "text", ["text"] = script.Text });
        return new JsonObject
        {
            ["id"] = "5a50480a-cf52-46f0-af01-53d18539bd31", ["message"] = message,
            ["finish_reason"] = FinishReason(script), ["usage"] = Usage(script),
        }.ToJsonString();
    }

    protected override FakeStreamPlan StreamPlan(RecordedRequest request, FakeScript script)
    {
        var head = new List<string>
        {
            Event("message-start", new JsonObject
            {
                ["id"] = "a8fc192e-4bb8-4e15-ae1f-a174e8b02ae8", ["type"] = "message-start",
                ["delta"] = new JsonObject
                {
                    ["message"] = new JsonObject { ["role"] = "assistant", ["content"] = new JsonArray(), ["tool_plan"] = "", ["tool_calls"] = new JsonArray(), ["citations"] = new JsonArray() },
                },
            }),
        };
        var content = new List<string>();
        var tail = new List<string>();
        if (script.ToolCalls.Count == 0)
        {
            head.Add(Event("content-start", Typed("content-start", 0, new JsonObject { ["content"] = new JsonObject { ["type"] = "text", ["text"] = "" } })));
            foreach (var text in script.TextChunks)
                content.Add(Event("content-delta", Typed("content-delta", 0, new JsonObject { ["content"] = new JsonObject { ["text"] = text } })));
            tail.Add(Event("content-end", new JsonObject { ["type"] = "content-end", ["index"] = 0 }));
        }
        else
        {
            foreach (var text in script.TextChunks)
                content.Add(Event("tool-plan-delta", new JsonObject { ["type"] = "tool-plan-delta", ["delta"] = new JsonObject { ["message"] = new JsonObject { ["tool_plan"] = text } } }));
            for (var i = 0; i < script.ToolCalls.Count; i++)
            {
                var call = script.ToolCalls[i];
                var frame = i > 0 ? Event("tool-call-end", new JsonObject { ["type"] = "tool-call-end", ["index"] = i - 1 }) : "";
                content.Add(frame + Event("tool-call-start", Typed("tool-call-start", i, new JsonObject { ["tool_calls"] = Call(call, "") })));
                foreach (var fragment in call.ArgumentFragments)
                    content.Add(Event("tool-call-delta", Typed("tool-call-delta", i, new JsonObject
                    {
                        ["tool_calls"] = new JsonObject { ["function"] = new JsonObject { ["arguments"] = fragment } },
                    })));
            }
            tail.Add(Event("tool-call-end", new JsonObject { ["type"] = "tool-call-end", ["index"] = script.ToolCalls.Count - 1 }));
        }
        tail.Add(Event("message-end", new JsonObject
        {
            ["type"] = "message-end",
            ["delta"] = new JsonObject { ["finish_reason"] = FinishReason(script), ["usage"] = Usage(script) },
        }));
        tail.Add("data: [DONE]\n\n");
        return new FakeStreamPlan(head, content, tail);
    }

    private static JsonObject Typed(string type, int index, JsonObject message) =>
        new() { ["type"] = type, ["index"] = index, ["delta"] = new JsonObject { ["message"] = message } };

    private static JsonObject Call(FakeToolCall call, string arguments) => new()
    {
        ["id"] = call.Id, ["type"] = "function",
        ["function"] = new JsonObject { ["name"] = call.Name, ["arguments"] = arguments },
    };

    /// <summary>Billed units are the scripted counts; the raw token counts include the prompt template.</summary>
    private static JsonObject Usage(FakeScript s) => new()
    {
        ["billed_units"] = new JsonObject { ["input_tokens"] = s.InputTokens, ["output_tokens"] = s.OutputTokens },
        ["tokens"] = new JsonObject { ["input_tokens"] = s.InputTokens + 189, ["output_tokens"] = s.OutputTokens },
    };

    private static string FinishReason(FakeScript s) => s.EffectiveFinishReason switch
    {
        "length" => "MAX_TOKENS",
        "tool_calls" => "TOOL_CALL",
        _ => "COMPLETE",
    };

    private static string Event(string name, JsonObject data) => "event: " + name + "\ndata: " + data.ToJsonString() + "\n\n";

    private static string Error(string message) => new JsonObject { ["id"] = "7b5e0f32-0a3c-4f6a-9a77-2c1d2b3e4f50", ["message"] = message }.ToJsonString();

    /// <summary><c>/v2/embed</c> and <c>/v2/rerank</c>.</summary>
    protected override FakeOperation? OperationFor(RecordedRequest request) => CohereRerankFake.For(request, BasePath);
}
