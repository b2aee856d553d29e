using System.Text.Json;
using IntegrationApi.Chat;

namespace IntegrationApi.Providers.OpenAICompatible;

/// <summary>Pure translation between our chat types and the Chat Completions wire format.</summary>
internal static class OpenAIChatWire
{
    /// <summary>Builds the streaming request body in the given dialect (OpenAI by default).</summary>
    public static OpenAIChatRequest ToChatRequest(ChatRequest request, OpenAIDialect? dialect = null)
    {
        var d = dialect ?? OpenAIDialect.OpenAI;
        var o = request.Options;
        var tools = request.Tools.Count == 0 ? null : request.Tools.Select(ToTool).ToArray();
        return new OpenAIChatRequest
        {
            Model = o.ModelId,
            Messages = ToMessages(request.Messages, d),
            Stream = true,
            StreamOptions = d.AsksForUsage ? new OpenAIStreamOptions(IncludeUsage: true) : null,
            Temperature = o.Temperature,
            TopP = o.TopP,
            MaxTokens = d.MaxTokens == MaxTokensField.MaxTokens ? o.MaxOutputTokens : null,
            MaxCompletionTokens = d.MaxTokens == MaxTokensField.MaxCompletionTokens ? o.MaxOutputTokens : null,
            Stop = o.StopSequences,
            Seed = d.SeedIsRandomSeed ? null : o.Seed,
            RandomSeed = d.SeedIsRandomSeed ? o.Seed : null,
            User = d.OpenAIOnlyFields ? o.User : null,
            ReasoningEffort = o.ReasoningEffort,
            ServiceTier = d.OpenAIOnlyFields ? o.ServiceTier : null,
            Logprobs = d.OpenAIOnlyFields && o.TopLogprobs is not null ? true : null,
            TopLogprobs = d.OpenAIOnlyFields ? o.TopLogprobs : null,
            Metadata = d.OpenAIOnlyFields ? o.Metadata : null,
            FrequencyPenalty = o.FrequencyPenalty,
            PresencePenalty = o.PresencePenalty,
            Tools = tools,
            ToolChoice = tools is null ? null : ToToolChoice(o.ToolMode),
            ResponseFormat = ToResponseFormat(o.ResponseFormat),
        };
    }

    private static List<OpenAIMessage> ToMessages(IReadOnlyList<ChatMessage> messages, OpenAIDialect d)
    {
        var result = new List<OpenAIMessage>(messages.Count);
        foreach (var m in messages)
        {
            switch (m.Role)
            {
                case ChatRole.System:
                    result.Add(new OpenAIMessage { Role = "system", Content = new OpenAIContent(m.Text, null) });
                    break;
                case ChatRole.User:
                    result.Add(new OpenAIMessage { Role = "user", Content = ToUserContent(m, d) });
                    break;
                case ChatRole.Assistant:
                    var calls = m.ToolCalls.Count == 0 ? null : m.ToolCalls
                        .Select(c => new OpenAIToolCall { Id = d.ToolCallId(c.Id), Type = "function", Function = new OpenAIFunctionCall { Name = c.Name, Arguments = c.Arguments } })
                        .ToArray();
                    var text = m.Text;
                    var thinking = d.ReasoningProvider is { } own
                        ? m.Parts.Where(p => p.Kind == ChatPartKind.Reasoning && p.MetaValue(ReasoningMeta.Provider) == own && p.Value.Length > 0).ToArray()
                        : [];
                    OpenAIContent? content = thinking.Length > 0
                        ? new OpenAIContent(null, [
                            .. thinking.Select(t => new OpenAIContentPart { Type = "thinking", Thinking = [new OpenAIContentPart { Type = "text", Text = t.Value }] }),
                            .. text.Length == 0 ? Array.Empty<OpenAIContentPart>() : [new OpenAIContentPart { Type = "text", Text = text }]])
                        : text.Length == 0 && calls is not null ? null : new OpenAIContent(text, null);
                    result.Add(new OpenAIMessage { Role = "assistant", Content = content, ToolCalls = calls });
                    break;
                case ChatRole.Tool:
                    foreach (var part in m.Parts.Where(x => x.Kind == ChatPartKind.ToolResult))
                        result.Add(new OpenAIMessage { Role = "tool", ToolCallId = d.ToolCallId(part.ToolCallId!), Content = new OpenAIContent(part.Value, null) });
                    break;
            }
        }
        return result;
    }

    private static OpenAIContent ToUserContent(ChatMessage m, OpenAIDialect d)
    {
        if (!m.Parts.Any(p => p.Kind is ChatPartKind.ImageUrl or ChatPartKind.Audio)) return new OpenAIContent(m.Text, null);
        var parts = m.Parts.Where(p => p.Kind is ChatPartKind.Text or ChatPartKind.ImageUrl or ChatPartKind.Audio).Select(p => p.Kind switch
        {
            ChatPartKind.ImageUrl => new OpenAIContentPart { Type = "image_url", ImageUrl = new OpenAIImageUrl(p.Value) },
            ChatPartKind.Audio => ToAudioPart(p, d),
            _ => new OpenAIContentPart { Type = "text", Text = p.Value },
        }).ToArray();
        return new OpenAIContent(null, parts);
    }

    /// <summary>
    /// Audio goes as <c>input_audio</c> (base64 and a format, https://platform.openai.com/docs/guides/audio): raw bytes only,
    /// WAV or MP3 (the formats the API documents); a provider without audio input is a 400 naming it.
    /// </summary>
    private static OpenAIContentPart ToAudioPart(ChatPart part, OpenAIDialect d)
    {
        if (!d.TakesAudio) throw new ChatRequestException($"{d.Name} does not take audio input");
        if (!DataUrls.TryParse(part.Value, out var mime, out var data))
            throw new ChatRequestException($"{d.Name} takes audio as raw bytes only (contentFormat \"raw\"), not by URL");
        var format = mime.ToLowerInvariant() switch
        {
            "audio/wav" or "audio/x-wav" or "audio/wave" => "wav",
            "audio/mpeg" or "audio/mp3" => "mp3",
            _ => throw new ChatRequestException($"{d.Name} takes WAV or MP3 audio, not {mime}"),
        };
        return new OpenAIContentPart { Type = "input_audio", InputAudio = new OpenAIInputAudio(data, format) };
    }

    private static OpenAITool ToTool(ChatTool tool) =>
        new("function", new OpenAIFunctionDefinition(tool.Name, tool.Description.Length == 0 ? null : tool.Description, tool.Parameters));

    private static string? ToToolChoice(ChatToolMode? mode) => mode switch
    {
        null => null,
        ChatToolMode.Auto => "auto",
        ChatToolMode.Required => "required",
        ChatToolMode.None => "none",
        _ => throw new ArgumentOutOfRangeException(nameof(mode)),
    };

    /// <summary>Only the types the API documents (https://platform.openai.com/docs/api-reference/chat/create#chat-create-response_format).</summary>
    private static JsonElement? ToResponseFormat(JsonElement? format)
    {
        if (format is not { } f) return null;
        var type = f.TryGetProperty("type", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString() : null;
        return type is "text" or "json_object" or "json_schema"
            ? f
            : throw new ChatRequestException($"modelParameters[\"{ModelParameters.ResponseFormat}\"].type must be text, json_object or json_schema");
    }

    /// <summary>Appends what one streamed chunk says to <paramref name="updates"/>; an in-band error throws.</summary>
    public static void FromChunk(OpenAIChunk chunk, string provider, List<ChatUpdate> updates)
    {
        if (chunk.Text is { } text)
        {
            if (text.Length > 0) updates.Add(ChatUpdate.FromText(text));
            return;
        }
        if (chunk.Error is { } error) throw FromError(error, provider, httpStatus: null);
        if (chunk.Choices is { Count: > 0 } choices)
        {
            var choice = choices[0];
            if (choice.Delta is { } delta)
            {
                if (delta.Content is { } content) FromContent(content, provider, updates);
                if (delta.ToolCalls is { } calls)
                    foreach (var c in calls)
                        updates.Add(ChatUpdate.FromToolCall(c.Index ?? 0, NullIfEmpty(c.Id), NullIfEmpty(c.Function?.Name), c.Function?.Arguments));
            }
            if (choice.FinishReason is { Length: > 0 } reason)
            {
                // Mistral may end a stream with finish_reason "error": a failure, not an answer.
                if (reason == "error") throw new ProviderException(ProviderErrorKind.UpstreamError, provider, $"{provider} ended the answer with finish_reason \"error\"", retryable: false);
                updates.Add(ChatUpdate.Finished(FromFinishReason(reason)));
            }
        }
        if (chunk.Usage is { } usage) updates.Add(ChatUpdate.FromUsage(FromUsage(usage)));
    }

    /// <summary>
    /// Delta content: text, or Mistral's chunk array, where <c>thinking</c> chunks (each a list of text chunks) are reasoning
    /// (block 0, tagged with the provider) and <c>text</c> chunks are text; other chunk types (references) are skipped.
    /// </summary>
    private static void FromContent(OpenAIContent content, string provider, List<ChatUpdate> updates)
    {
        if (content.Parts is null)
        {
            if (!string.IsNullOrEmpty(content.Text)) updates.Add(ChatUpdate.FromText(content.Text));
            return;
        }
        foreach (var part in content.Parts)
        {
            if (part.Type == "text" && !string.IsNullOrEmpty(part.Text)) updates.Add(ChatUpdate.FromText(part.Text));
            else if (part.Type == "thinking")
                updates.Add(ChatUpdate.FromReasoning(0, string.Concat((part.Thinking ?? []).Where(t => t.Type == "text").Select(t => t.Text)), ThinkingMeta(provider)));
        }
    }

    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, IReadOnlyDictionary<string, string>> ThinkingMetas = new();

    /// <summary>The state of a thinking block: whose it is (one shared instance per provider, not one per chunk).</summary>
    private static IReadOnlyDictionary<string, string> ThinkingMeta(string provider) =>
        ThinkingMetas.GetOrAdd(provider, static p => new Dictionary<string, string> { [ReasoningMeta.Provider] = p, [ReasoningMeta.Type] = "thinking" });

    public static ChatFinishReason FromFinishReason(string reason) => reason switch
    {
        "stop" => ChatFinishReason.Stop,
        "length" or "model_length" => ChatFinishReason.Length,
        "tool_calls" or "function_call" => ChatFinishReason.ToolCalls,
        "content_filter" => ChatFinishReason.ContentFilter,
        _ => new ChatFinishReason(reason),
    };

    public static TokenUsage FromUsage(OpenAIUsage u) => new(
        Input: u.PromptTokens, Output: u.CompletionTokens, Total: u.TotalTokens,
        CachedInput: u.PromptTokensDetails?.CachedTokens, Reasoning: u.CompletionTokensDetails?.ReasoningTokens);

    /// <summary>Reads an error body (<c>{"error":{...}}</c>) for <see cref="ProviderHttp"/>.</summary>
    public static ProviderErrorDescription DescribeError(string body)
    {
        var error = TryParseError(body);
        return new ProviderErrorDescription(
            error is null ? null : $"{error.Message} (type {error.Type ?? "none"}, code {error.CodeText ?? "none"})",
            NotRetryable: error?.CodeText == "insufficient_quota" || error?.Type == "insufficient_quota");
    }

    /// <summary>An in-band stream error as a <see cref="ProviderException"/>.</summary>
    public static ProviderException FromError(OpenAIError error, string provider, int? httpStatus)
    {
        var code = error.CodeText;
        // Codes first: OpenAI sends model_not_found and invalid_api_key with type invalid_request_error.
        var kind = (error.Type, code) switch
        {
            (_, "invalid_api_key") or ("authentication_error", _) => ProviderErrorKind.Unauthorized,
            (_, "model_not_found") => ProviderErrorKind.NotFound,
            (_, "insufficient_quota") or (_, "rate_limit_exceeded") or ("rate_limit_error", _) => ProviderErrorKind.RateLimited,
            (_, "context_length_exceeded") or ("invalid_request_error", _) => ProviderErrorKind.InvalidRequest,
            _ => ProviderErrorKind.UpstreamError, // server_error, api_error and anything new
        };
        return new ProviderException(kind, provider,
            $"{provider} stream error: {error.Message} (type {error.Type ?? "none"}, code {code ?? "none"})", httpStatus,
            retryable: code != "insufficient_quota");
    }

    private static OpenAIError? TryParseError(string body)
    {
        try { return JsonSerializer.Deserialize(body, OpenAIJsonContext.Default.OpenAIErrorBody)?.Error; }
        catch (JsonException) { return null; }
    }

    private static string? NullIfEmpty(string? s) => string.IsNullOrEmpty(s) ? null : s;
}

/// <summary>Which field carries the token limit in a dialect.</summary>
internal enum MaxTokensField { MaxTokens, MaxCompletionTokens }

/// <summary>How an OpenAI-compatible API differs from OpenAI's own Chat Completions.</summary>
/// <param name="MaxTokens">The token-limit field.</param>
/// <param name="AsksForUsage">Send <c>stream_options.include_usage</c> (Mistral rejects it and reports usage unasked).</param>
/// <param name="SeedIsRandomSeed">The seed goes in <c>random_seed</c> (Mistral).</param>
/// <param name="OpenAIOnlyFields">Send <c>user</c>, <c>service_tier</c>, <c>logprobs</c>, <c>metadata</c>.</param>
/// <param name="Name">The provider, for errors.</param>
/// <param name="ReasoningProvider">Whose reasoning state goes back in assistant turns (Mistral's thinking chunks); null: none does.</param>
/// <param name="NineCharToolIds">Tool-call ids must be exactly 9 letters and digits (Mistral); others are adapted.</param>
/// <param name="TakesAudio">Audio input as <c>input_audio</c> parts.</param>
internal sealed record OpenAIDialect(MaxTokensField MaxTokens, bool AsksForUsage, bool SeedIsRandomSeed, bool OpenAIOnlyFields,
    string Name = "openai", string? ReasoningProvider = null, bool NineCharToolIds = false, bool TakesAudio = false)
{
    public static OpenAIDialect OpenAI { get; } = new(MaxTokensField.MaxCompletionTokens, AsksForUsage: true, SeedIsRandomSeed: false, OpenAIOnlyFields: true,
        Name: ProviderNames.OpenAI, TakesAudio: true);
    public static OpenAIDialect Azure { get; } = OpenAI with { Name = ProviderNames.Azure };
    public static OpenAIDialect Mistral { get; } = new(MaxTokensField.MaxTokens, AsksForUsage: false, SeedIsRandomSeed: true, OpenAIOnlyFields: false,
        Name: ProviderNames.Mistral, ReasoningProvider: ProviderNames.Mistral, NineCharToolIds: true);

    /// <summary>A tool-call id as this provider accepts it (Mistral: <see cref="ToolCallIds.ToNineAlphanumeric"/>).</summary>
    public string ToolCallId(string id) => NineCharToolIds ? ToolCallIds.ToNineAlphanumeric(id) : id;
}
