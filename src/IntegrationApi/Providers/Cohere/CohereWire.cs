using System.Text.Json;
using IntegrationApi.Chat;

namespace IntegrationApi.Providers.Cohere;

/// <summary>Pure translation between our chat types and Cohere Chat v2.</summary>
internal static class CohereWire
{
    /// <summary>Builds the streaming request body. Assistant text that accompanies tool calls travels as <c>tool_plan</c>.</summary>
    public static CohereRequest ToChatRequest(ChatRequest request)
    {
        var o = request.Options;
        var tools = request.Tools.Count == 0 ? null : request.Tools
            .Select(t => new CohereTool("function", new CohereFunctionDefinition(t.Name, t.Description.Length == 0 ? null : t.Description, t.Parameters)))
            .ToArray();
        return new CohereRequest
        {
            Model = o.ModelId,
            Messages = ToMessages(request.Messages),
            Tools = tools,
            ToolChoice = tools is null ? null : ToToolChoice(o.ToolMode),
            ResponseFormat = ToResponseFormat(o.ResponseFormat),
            MaxTokens = o.MaxOutputTokens,
            StopSequences = o.StopSequences,
            Temperature = o.Temperature,
            P = o.TopP,
            K = o.TopK,
            Seed = o.Seed,
            FrequencyPenalty = o.FrequencyPenalty,
            PresencePenalty = o.PresencePenalty,
            Stream = true,
        };
    }

    private static List<CohereMessage> ToMessages(IReadOnlyList<ChatMessage> messages)
    {
        var result = new List<CohereMessage>(messages.Count);
        foreach (var m in messages)
        {
            switch (m.Role)
            {
                case ChatRole.System:
                    result.Add(new CohereMessage { Role = "system", Content = m.Text });
                    break;
                case ChatRole.User:
                    if (m.Parts.Any(x => x.Kind == ChatPartKind.Audio)) throw new ChatRequestException("cohere does not take audio input");
                    result.Add(new CohereMessage
                    {
                        Role = "user",
                        // Vision models take image_url blocks, URLs or data URLs (https://docs.cohere.com/docs/image-inputs).
                        Content = m.Parts.Any(x => x.Kind == ChatPartKind.ImageUrl)
                            ? new CohereContent(null, m.Parts.Where(x => x.Kind is ChatPartKind.Text or ChatPartKind.ImageUrl).Select(x => x.Kind == ChatPartKind.ImageUrl
                                ? new CohereContentBlock { Type = "image_url", ImageUrl = new CohereImageUrl(x.Value) }
                                : new CohereContentBlock { Type = "text", Text = x.Value }).ToArray())
                            : m.Text,
                    });
                    break;
                case ChatRole.Assistant when m.ToolCalls.Count > 0:
                    result.Add(new CohereMessage
                    {
                        Role = "assistant",
                        ToolPlan = m.Text.Length == 0 ? null : m.Text,
                        ToolCalls = m.ToolCalls.Select(c => new CohereToolCall { Id = c.Id, Type = "function", Function = new CohereFunction { Name = c.Name, Arguments = c.Arguments } }).ToArray(),
                    });
                    break;
                case ChatRole.Assistant:
                    result.Add(new CohereMessage { Role = "assistant", Content = m.Text });
                    break;
                case ChatRole.Tool:
                    foreach (var part in m.Parts.Where(x => x.Kind == ChatPartKind.ToolResult))
                        result.Add(new CohereMessage { Role = "tool", ToolCallId = part.ToolCallId, Content = part.Value });
                    break;
            }
        }
        return result;
    }

    /// <summary>
    /// OpenAI's <c>{"type":"json_schema","json_schema":{"schema":{…}}}</c> becomes Cohere's <c>{"type":"json_object","json_schema":{…}}</c>
    /// (https://docs.cohere.com/docs/structured-outputs); Cohere's own shapes pass as they are.
    /// </summary>
    private static JsonElement? ToResponseFormat(JsonElement? format)
    {
        if (format is not { } f || !f.TryGetProperty("type", out var t) || t.ValueKind != JsonValueKind.String || t.GetString() != "json_schema") return format;
        if (!f.TryGetProperty("json_schema", out var js) || js.ValueKind != JsonValueKind.Object || !js.TryGetProperty("schema", out var schema))
            throw new ChatRequestException($"modelParameters[\"{ModelParameters.ResponseFormat}\"] of type json_schema needs json_schema.schema");
        return JsonSerializer.SerializeToElement(new System.Text.Json.Nodes.JsonObject
        {
            ["type"] = "json_object",
            ["json_schema"] = System.Text.Json.Nodes.JsonNode.Parse(schema.GetRawText()),
        });
    }

    /// <summary>Cohere has no "auto" value: auto is the default, so it is left out (https://docs.cohere.com/reference/chat#request.body.tool_choice).</summary>
    private static string? ToToolChoice(ChatToolMode? mode) => mode switch
    {
        null or ChatToolMode.Auto => null,
        ChatToolMode.Required => "REQUIRED",
        ChatToolMode.None => "NONE",
        _ => throw new ArgumentOutOfRangeException(nameof(mode)),
    };

    /// <summary>Appends what one streamed event says; returns true on <c>message-end</c>.</summary>
    public static bool FromStreamEvent(CohereEvent e, string provider, List<ChatUpdate> updates)
    {
        var message = e.Delta?.Message;
        switch (e.Type)
        {
            case "content-start" or "content-delta":
                if (message?.Content is { ValueKind: JsonValueKind.Object } content
                    && content.TryGetProperty("text", out var text) && text.GetString() is { Length: > 0 } t)
                    updates.Add(ChatUpdate.FromText(t));
                break;
            case "tool-plan-delta":
                // The model's plan before it calls tools: shown as text, like OpenAI's content before tool calls.
                if (message?.ToolPlan is { Length: > 0 } plan) updates.Add(ChatUpdate.FromText(plan));
                break;
            case "tool-call-start" or "tool-call-delta":
                if (message?.ToolCalls is { ValueKind: JsonValueKind.Object } call)
                {
                    var function = call.TryGetProperty("function", out var f) ? f : default;
                    updates.Add(ChatUpdate.FromToolCall(e.Index,
                        call.TryGetProperty("id", out var id) ? id.GetString() : null,
                        function.ValueKind == JsonValueKind.Object && function.TryGetProperty("name", out var name) ? name.GetString() : null,
                        function.ValueKind == JsonValueKind.Object && function.TryGetProperty("arguments", out var args) ? args.GetString() : null));
                }
                break;
            case "message-end":
                if (e.Delta?.Usage is { } usage) updates.Add(ChatUpdate.FromUsage(FromUsage(usage)));
                updates.Add(ChatUpdate.Finished(FromFinishReason(e.Delta?.FinishReason, provider)));
                return true;
        }
        return false;
    }

    private static ChatFinishReason FromFinishReason(string? reason, string provider) => reason switch
    {
        null or "COMPLETE" or "STOP_SEQUENCE" => ChatFinishReason.Stop,
        "MAX_TOKENS" => ChatFinishReason.Length,
        "TOOL_CALL" => ChatFinishReason.ToolCalls,
        "TIMEOUT" => throw new ProviderException(ProviderErrorKind.Timeout, provider, $"{provider} ended the answer with TIMEOUT", retryable: false),
        "ERROR" => throw new ProviderException(ProviderErrorKind.UpstreamError, provider, $"{provider} ended the answer with ERROR", retryable: false),
        _ => new ChatFinishReason(reason.ToLowerInvariant()),
    };

    /// <summary>Billed units when present (what the call costs), else the raw token counts; input and output in their own places.</summary>
    public static TokenUsage FromUsage(CohereUsage u)
    {
        var counts = u.BilledUnits is { InputTokens: not null } or { OutputTokens: not null } ? u.BilledUnits : u.Tokens;
        return new TokenUsage(Input: counts?.InputTokens, Output: counts?.OutputTokens, CachedInput: u.CachedTokens);
    }

    /// <summary>Reads <c>{"message":…}</c>; Cohere's 498 (invalid token) is a rejected credential.</summary>
    public static ProviderErrorDescription DescribeError(string body)
    {
        string? message = null;
        try { message = JsonSerializer.Deserialize(body, CohereJsonContext.Default.CohereErrorBody)?.Message; }
        catch (JsonException) { }
        return new ProviderErrorDescription(message);
    }
}
