using System.Text.Json;
using IntegrationApi.Chat;

namespace IntegrationApi.Providers.Anthropic;

/// <summary>Pure translation between our chat types and the Anthropic Messages API.</summary>
internal static class AnthropicWire
{
    /// <summary>Builds the streaming request body; system turns become top-level system blocks.</summary>
    public static AnthropicRequest ToMessagesRequest(ChatRequest request, long defaultMaxTokens, string provider = ProviderNames.Anthropic)
    {
        var o = request.Options;
        var tools = request.Tools.Count == 0 ? null : request.Tools.Select(ToTool).ToArray();
        var system = request.Messages.Where(m => m.Role == ChatRole.System)
            .SelectMany(m => m.Parts.Where(p => p.Kind == ChatPartKind.Text && p.Value.Length > 0))
            .Select(p => new AnthropicBlock { Type = "text", Text = p.Value, CacheControl = ToCacheControl(p) }).ToArray();
        return new AnthropicRequest
        {
            Model = o.ModelId,
            MaxTokens = o.MaxOutputTokens ?? defaultMaxTokens, // the API requires max_tokens
            System = system.Length == 0 ? null : system,
            Messages = ToMessages(request.Messages, provider),
            Temperature = o.Temperature,
            TopP = o.TopP,
            TopK = o.TopK,
            StopSequences = o.StopSequences,
            Tools = tools,
            ToolChoice = tools is null ? null : ToToolChoice(o.ToolMode),
            Thinking = ToThinking(o.Thinking),
            OutputConfig = ToOutputConfig(o.ResponseFormat),
            Stream = true,
        };
    }

    private static List<AnthropicMessage> ToMessages(IReadOnlyList<ChatMessage> messages, string provider)
    {
        // The API wants user/assistant turns; tool results travel in a user turn. Consecutive turns of
        // one role are merged so that e.g. a tool-result turn followed by a user question stays valid.
        // Each turn's blocks are appended to the open turn's list (never copied), so merging stays linear in the
        // number of blocks however many same-role turns follow each other.
        var result = new List<AnthropicMessage>(messages.Count);
        List<AnthropicBlock>? open = null;
        foreach (var m in messages)
        {
            if (m.Role == ChatRole.System) continue;
            var role = m.Role == ChatRole.Assistant ? "assistant" : "user";
            var blocks = ToBlocks(m, provider);
            if (blocks.Count == 0) continue;
            if (open is not null && result[^1].Role == role)
                open.AddRange(blocks);
            else
                result.Add(new AnthropicMessage(role, open = blocks));
        }
        if (result.Count == 0) throw new ChatRequestException("conversations must hold at least one user or assistant turn with content");
        return result;
    }

    /// <summary>
    /// A turn's blocks. An assistant turn starts with the thinking blocks this provider returned for it (signed, sent back
    /// unchanged: https://docs.claude.com/en/docs/build-with-claude/extended-thinking#preserving-thinking-blocks); another
    /// provider's reasoning state is dropped. Tool ids are adapted to <c>^[a-zA-Z0-9_-]+$</c>.
    /// </summary>
    private static List<AnthropicBlock> ToBlocks(ChatMessage m, string provider)
    {
        var blocks = new List<AnthropicBlock>(m.Parts.Count + m.ToolCalls.Count);
        foreach (var part in m.Parts)
        {
            if (part.Kind != ChatPartKind.Reasoning || part.MetaValue(ReasoningMeta.Provider) != provider) continue;
            if (part.MetaValue(ReasoningMeta.Type) == "redacted_thinking")
                blocks.Add(new AnthropicBlock { Type = "redacted_thinking", Data = part.MetaValue(ReasoningMeta.Data) ?? "" });
            else if (part.MetaValue(ReasoningMeta.Signature) is { } signature)
                blocks.Add(new AnthropicBlock { Type = "thinking", Thinking = part.Value, Signature = signature });
        }
        foreach (var part in m.Parts)
        {
            switch (part.Kind)
            {
                case ChatPartKind.Text when part.Value.Length > 0:
                    blocks.Add(new AnthropicBlock { Type = "text", Text = part.Value, CacheControl = ToCacheControl(part) });
                    break;
                case ChatPartKind.ImageUrl:
                    blocks.Add(new AnthropicBlock { Type = "image", Source = ToImageSource(part.Value), CacheControl = ToCacheControl(part) });
                    break;
                case ChatPartKind.Audio:
                    throw new ChatRequestException($"{provider} does not take audio input");
                case ChatPartKind.ToolResult:
                    blocks.Add(new AnthropicBlock { Type = "tool_result", ToolUseId = ToolCallIds.ToAnthropic(part.ToolCallId!), Content = part.Value, CacheControl = ToCacheControl(part) });
                    break;
            }
        }
        foreach (var call in m.ToolCalls)
            blocks.Add(new AnthropicBlock { Type = "tool_use", Id = ToolCallIds.ToAnthropic(call.Id), Name = call.Name, Input = call.ParsedArguments });
        return blocks;
    }

    /// <summary>The media types the API takes inline (https://docs.claude.com/en/docs/build-with-claude/vision).</summary>
    private static readonly HashSet<string> ImageTypes = ["image/jpeg", "image/png", "image/gif", "image/webp"];

    /// <summary>Raw bytes (a data URL made at the edge) go as <c>base64</c>, anything else as <c>url</c>.</summary>
    private static AnthropicImageSource ToImageSource(string value)
    {
        if (!DataUrls.TryParse(value, out var mime, out var data)) return new AnthropicImageSource { Type = "url", Url = value };
        return ImageTypes.Contains(mime.ToLowerInvariant())
            ? new AnthropicImageSource { Type = "base64", MediaType = mime.ToLowerInvariant(), Data = data }
            : throw new ChatRequestException($"anthropic takes JPEG, PNG, GIF or WebP images, not {mime}");
    }

    /// <summary><c>meta.cacheControl</c> (and <c>meta.cacheTtl</c>) as a <c>cache_control</c> breakpoint.</summary>
    private static AnthropicCacheControl? ToCacheControl(ChatPart part) =>
        part.MetaValue(ChatContentMeta.CacheControl) is { Length: > 0 } type ? new AnthropicCacheControl(type, part.MetaValue(ChatContentMeta.CacheTtl)) : null;

    /// <summary>
    /// <c>model.response_format</c> of type <c>json_schema</c> (OpenAI's shape: the schema in <c>json_schema.schema</c>, or
    /// directly in <c>schema</c>) as <c>output_config.format</c>; <c>text</c> asks for nothing; Anthropic has no JSON mode without a schema.
    /// </summary>
    private static AnthropicOutputConfig? ToOutputConfig(System.Text.Json.JsonElement? format)
    {
        if (format is not { } f) return null;
        var type = f.TryGetProperty("type", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString() : null;
        if (type is null or "text") return null;
        if (type != "json_schema")
            throw new ChatRequestException($"modelParameters[\"{ModelParameters.ResponseFormat}\"].type must be text or json_schema for anthropic (it has no JSON mode without a schema)");
        var schema = f.TryGetProperty("json_schema", out var js) && js.ValueKind == JsonValueKind.Object && js.TryGetProperty("schema", out var inner) ? inner
            : f.TryGetProperty("schema", out var direct) ? direct
            : throw new ChatRequestException($"modelParameters[\"{ModelParameters.ResponseFormat}\"] of type json_schema needs json_schema.schema");
        return schema.ValueKind == JsonValueKind.Object
            ? new AnthropicOutputConfig(new AnthropicOutputFormat("json_schema", schema))
            : throw new ChatRequestException($"modelParameters[\"{ModelParameters.ResponseFormat}\"].json_schema.schema must be a JSON object");
    }

    private static AnthropicTool ToTool(ChatTool tool) =>
        new(tool.Name, tool.Description.Length == 0 ? null : tool.Description, tool.Parameters)
        {
            CacheControl = tool.CacheControl is { Length: > 0 } type ? new AnthropicCacheControl(type, tool.CacheTtl) : null,
        };

    /// <summary>"required" is the API's <c>any</c> (https://docs.anthropic.com/en/docs/agents-and-tools/tool-use/implement-tool-use#forcing-tool-use).</summary>
    private static AnthropicToolChoice? ToToolChoice(ChatToolMode? mode) => mode switch
    {
        null => null,
        ChatToolMode.Auto => new AnthropicToolChoice("auto"),
        ChatToolMode.Required => new AnthropicToolChoice("any"),
        ChatToolMode.None => new AnthropicToolChoice("none"),
        _ => throw new ArgumentOutOfRangeException(nameof(mode)),
    };

    /// <summary>Extended thinking needs a budget (https://docs.anthropic.com/en/docs/build-with-claude/extended-thinking).</summary>
    private static AnthropicThinking? ToThinking(ChatThinking? thinking)
    {
        if (thinking is not { Enabled: true } t) return null;
        return t.BudgetTokens is long budget && budget > 0
            ? new AnthropicThinking("enabled", budget)
            : throw new ChatRequestException($"modelParameters[\"{ModelParameters.Thinking}\"].budget_tokens must be a positive whole number");
    }

    /// <summary>Appends what one streamed event says to <paramref name="updates"/>; returns true on <c>message_stop</c>.</summary>
    public static bool FromStreamEvent(string eventType, AnthropicEvent e, string provider, List<ChatUpdate> updates)
    {
        switch (eventType)
        {
            case "message_start" when e.Message?.Usage is { } usage:
                updates.Add(ChatUpdate.FromUsage(FromUsage(usage)));
                break;
            case "content_block_start" when e.ContentBlock is { } block:
                if (block.Type == "tool_use") updates.Add(ChatUpdate.FromToolCall(e.Index, block.Id, block.Name, null));
                else if (block.Type == "text" && !string.IsNullOrEmpty(block.Text)) updates.Add(ChatUpdate.FromText(block.Text));
                else if (block.Type == "thinking")
                    updates.Add(ChatUpdate.FromReasoning(e.Index, block.Thinking, State(provider, "thinking", ReasoningMeta.Signature, block.Signature)));
                else if (block.Type == "redacted_thinking")
                    updates.Add(ChatUpdate.FromReasoning(e.Index, null, State(provider, "redacted_thinking", ReasoningMeta.Data, block.Data)));
                break;
            case "content_block_delta" when e.Delta is { } delta:
                if (delta.Type == "text_delta" && !string.IsNullOrEmpty(delta.Text)) updates.Add(ChatUpdate.FromText(delta.Text));
                else if (delta.Type == "input_json_delta" && !string.IsNullOrEmpty(delta.PartialJson))
                    updates.Add(ChatUpdate.FromToolCall(e.Index, null, null, delta.PartialJson));
                else if (delta.Type == "thinking_delta" && !string.IsNullOrEmpty(delta.Thinking))
                    updates.Add(ChatUpdate.FromReasoning(e.Index, delta.Thinking));
                else if (delta.Type == "signature_delta" && !string.IsNullOrEmpty(delta.Signature))
                    updates.Add(ChatUpdate.FromReasoning(e.Index, null, new Dictionary<string, string> { [ReasoningMeta.Signature] = delta.Signature }));
                break;
            case "message_delta":
                if (e.Delta?.StopReason is { } reason) updates.Add(ChatUpdate.Finished(FromStopReason(reason)));
                if (e.Usage is { } final) updates.Add(ChatUpdate.FromUsage(FromUsage(final)));
                break;
            case "message_stop":
                return true;
            case "error":
                throw FromError(e.Error, provider);
        }
        return false;
    }

    /// <summary>A thinking block's state: whose it is, its type, and (when already known) its signature or data.</summary>
    private static Dictionary<string, string> State(string provider, string type, string key, string? value)
    {
        var meta = new Dictionary<string, string> { [ReasoningMeta.Provider] = provider, [ReasoningMeta.Type] = type };
        if (!string.IsNullOrEmpty(value)) meta[key] = value;
        return meta;
    }

    public static ChatFinishReason FromStopReason(string reason) => reason switch
    {
        "end_turn" or "stop_sequence" or "pause_turn" => ChatFinishReason.Stop,
        "max_tokens" or "model_context_window_exceeded" => ChatFinishReason.Length,
        "tool_use" => ChatFinishReason.ToolCalls,
        "refusal" => ChatFinishReason.ContentFilter,
        _ => new ChatFinishReason(reason),
    };

    /// <summary>Input counts every input token, cached or not; output is cumulative in <c>message_delta</c>.</summary>
    public static TokenUsage FromUsage(AnthropicUsage u) => new(
        Input: u.InputTokens is null ? null : u.InputTokens + (u.CacheCreationInputTokens ?? 0) + (u.CacheReadInputTokens ?? 0),
        Output: u.OutputTokens,
        CachedInput: u.CacheReadInputTokens,
        CacheWrite: u.CacheCreationInputTokens);

    /// <summary>Reads an error body (<c>{"type":"error","error":{...}}</c>) for <see cref="ProviderHttp"/>.</summary>
    public static ProviderErrorDescription DescribeError(string body)
    {
        try
        {
            var error = JsonSerializer.Deserialize(body, AnthropicJsonContext.Default.AnthropicErrorBody)?.Error;
            return new ProviderErrorDescription(error is null ? null : $"{error.Message} (type {error.Type ?? "none"})");
        }
        catch (JsonException)
        {
            return default;
        }
    }

    /// <summary>An in-band <c>event: error</c> as a <see cref="ProviderException"/>.</summary>
    public static ProviderException FromError(AnthropicError? error, string provider)
    {
        var kind = error?.Type switch
        {
            "overloaded_error" => ProviderErrorKind.Overloaded,
            "rate_limit_error" => ProviderErrorKind.RateLimited,
            "authentication_error" => ProviderErrorKind.Unauthorized,
            "permission_error" or "billing_error" => ProviderErrorKind.Forbidden,
            "not_found_error" => ProviderErrorKind.NotFound,
            "invalid_request_error" => ProviderErrorKind.InvalidRequest,
            "request_too_large" => ProviderErrorKind.RequestTooLarge,
            "timeout_error" => ProviderErrorKind.Timeout,
            _ => ProviderErrorKind.UpstreamError,
        };
        return new ProviderException(kind, provider, $"{provider} stream error: {error?.Message ?? "(no message)"} (type {error?.Type ?? "none"})");
    }
}
