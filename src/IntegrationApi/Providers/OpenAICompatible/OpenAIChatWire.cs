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
            Messages = ToMessages(request.Messages),
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

    private static List<OpenAIMessage> ToMessages(IReadOnlyList<ChatMessage> messages)
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
                    result.Add(new OpenAIMessage { Role = "user", Content = ToUserContent(m) });
                    break;
                case ChatRole.Assistant:
                    var calls = m.ToolCalls.Count == 0 ? null : m.ToolCalls
                        .Select(c => new OpenAIToolCall { Id = c.Id, Type = "function", Function = new OpenAIFunctionCall { Name = c.Name, Arguments = c.Arguments } })
                        .ToArray();
                    var text = m.Text;
                    result.Add(new OpenAIMessage
                    {
                        Role = "assistant",
                        Content = text.Length == 0 && calls is not null ? null : new OpenAIContent(text, null),
                        ToolCalls = calls,
                    });
                    break;
                case ChatRole.Tool:
                    foreach (var part in m.Parts.Where(x => x.Kind == ChatPartKind.ToolResult))
                        result.Add(new OpenAIMessage { Role = "tool", ToolCallId = part.ToolCallId, Content = new OpenAIContent(part.Value, null) });
                    break;
            }
        }
        return result;
    }

    private static OpenAIContent ToUserContent(ChatMessage m)
    {
        if (!m.Parts.Any(p => p.Kind == ChatPartKind.ImageUrl)) return new OpenAIContent(m.Text, null);
        var parts = m.Parts.Select(p => p.Kind == ChatPartKind.ImageUrl
            ? new OpenAIContentPart { Type = "image_url", ImageUrl = new OpenAIImageUrl(p.Value) }
            : new OpenAIContentPart { Type = "text", Text = p.Value }).ToArray();
        return new OpenAIContent(null, parts);
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
        if (chunk.Error is { } error) throw FromError(error, provider, httpStatus: null);
        if (chunk.Choices is { Count: > 0 } choices)
        {
            var choice = choices[0];
            if (choice.Delta is { } delta)
            {
                if (!string.IsNullOrEmpty(delta.Content)) updates.Add(ChatUpdate.FromText(delta.Content));
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
internal sealed record OpenAIDialect(MaxTokensField MaxTokens, bool AsksForUsage, bool SeedIsRandomSeed, bool OpenAIOnlyFields)
{
    public static OpenAIDialect OpenAI { get; } = new(MaxTokensField.MaxCompletionTokens, AsksForUsage: true, SeedIsRandomSeed: false, OpenAIOnlyFields: true);
    public static OpenAIDialect Azure { get; } = OpenAI;
    public static OpenAIDialect Mistral { get; } = new(MaxTokensField.MaxTokens, AsksForUsage: false, SeedIsRandomSeed: true, OpenAIOnlyFields: false);
}
