using System.Text.Json;
using System.Text.Json.Nodes;
using IntegrationApi.Chat;
using IntegrationApi.Providers;

namespace IntegrationApi.Providers.GoogleGenAI;

/// <summary>Pure translation between our chat types and generateContent (Gemini API and Vertex AI).</summary>
internal static class GoogleWire
{
    /// <summary>The model id (required at the edge) without a <c>models/</c> prefix.</summary>
    public static string Model(ChatRequest request)
    {
        var model = request.Options.ModelId;
        return model.StartsWith("models/", StringComparison.Ordinal) ? model["models/".Length..] : model;
    }

    /// <summary>
    /// Builds the request body. System turns go to <c>systemInstruction</c> (not "the first message", the
    /// original's defect); assistant turns are <c>model</c>; tool results are <c>functionResponse</c> parts in a user turn.
    /// </summary>
    public static GoogleRequest ToGenerateContentRequest(ChatRequest request, string provider = ProviderNames.Gemini)
    {
        var o = request.Options;
        var system = request.Messages.Where(m => m.Role == ChatRole.System && m.Text.Length > 0)
            .Select(m => new GooglePart { Text = m.Text }).ToArray();
        var tools = request.Tools.Count == 0 ? null : new[]
        {
            new GoogleTool(request.Tools.Select(t => new GoogleFunctionDeclaration(t.Name, t.Description.Length == 0 ? null : t.Description, new GoogleSchema(t.Parameters))).ToArray()),
        };
        var format = o.ResponseFormat;
        var config = new GoogleGenerationConfig
        {
            Temperature = o.Temperature,
            TopP = o.TopP,
            TopK = o.TopK,
            MaxOutputTokens = o.MaxOutputTokens,
            StopSequences = o.StopSequences,
            Seed = o.Seed,
            FrequencyPenalty = o.FrequencyPenalty,
            PresencePenalty = o.PresencePenalty,
            ResponseMimeType = format is { } f && f.TryGetProperty("response_mime_type", out var mime) ? MimeType(mime) : JsonSchemaOf(format) is not null || IsJsonObject(format) ? "application/json" : null,
            ResponseSchema = format is { } g && g.TryGetProperty("response_schema", out var schema) ? schema : null,
            ResponseJsonSchema = JsonSchemaOf(format),
            ThinkingConfig = ToThinking(o.Thinking, o.IncludeReasoning),
        };
        return new GoogleRequest
        {
            Contents = ToContents(request.Messages, provider, Model(request).StartsWith("gemini-3", StringComparison.Ordinal)),
            SystemInstruction = system.Length == 0 ? null : new GoogleContent(null, system),
            Tools = tools,
            ToolConfig = tools is null ? null : ToToolConfig(o.ToolMode),
            GenerationConfig = config,
        };
    }

    private static List<GoogleContent> ToContents(IReadOnlyList<ChatMessage> messages, string provider, bool validatesSignatures)
    {
        var callNames = messages.SelectMany(m => m.ToolCalls).GroupBy(c => c.Id).ToDictionary(g => g.Key, g => g.First().Name);
        var contents = new List<GoogleContent>(messages.Count);
        List<GooglePart>? open = null; // the last turn's parts: same-role turns append here (linear, never copied)
        foreach (var m in messages)
        {
            if (m.Role == ChatRole.System) continue;
            var role = m.Role == ChatRole.Assistant ? "model" : "user";
            var parts = new List<GooglePart>();
            foreach (var part in m.Parts)
            {
                switch (part.Kind)
                {
                    case ChatPartKind.Text when part.Value.Length > 0:
                        parts.Add(new GooglePart { Text = part.Value });
                        break;
                    case ChatPartKind.ImageUrl:
                        parts.Add(ToImagePart(part.Value));
                        break;
                    case ChatPartKind.Audio:
                        parts.Add(ToAudioPart(part));
                        break;
                    case ChatPartKind.ToolResult:
                        var name = part.Name is { Length: > 0 } n ? n : callNames.GetValueOrDefault(part.ToolCallId!)
                            ?? throw new ChatRequestException($"tool result for \"{part.ToolCallId}\" needs the function name (Content.name) or the matching assistant tool call");
                        parts.Add(new GooglePart { FunctionResponse = new GoogleFunctionResponse { Id = part.ToolCallId, Name = name, Response = ToResponseObject(part.Value) } });
                        break;
                }
            }
            foreach (var call in m.ToolCalls)
                parts.Add(new GooglePart { FunctionCall = new GoogleFunctionCall { Id = call.Id, Name = call.Name, Args = call.ParsedArguments } });
            if (m.Role == ChatRole.Assistant) RestoreSignatures(m, parts, provider, validatesSignatures);
            if (parts.Count == 0) continue;
            if (open is not null && contents[^1].Role == role)
                open.AddRange(parts);
            else
                contents.Add(new GoogleContent(role, open = parts));
        }
        if (contents.Count == 0) throw new ChatRequestException("conversations must hold at least one user or assistant turn with content");
        return contents;
    }

    /// <summary>
    /// Puts this provider's thought signatures back on the parts they came with (https://ai.google.dev/gemini-api/docs/thought-signatures):
    /// a function call's on that call (by <see cref="ReasoningMeta.ToolCallId"/>), a text signature on the turn's last text
    /// part (or an empty text part, as the model sent it), signed thoughts first as thought parts. Another provider's state is dropped.
    /// </summary>
    private static void RestoreSignatures(ChatMessage m, List<GooglePart> parts, string provider, bool validatesSignatures)
    {
        var thoughts = new List<GooglePart>();
        foreach (var r in m.Parts)
        {
            if (r.Kind != ChatPartKind.Reasoning || r.MetaValue(ReasoningMeta.Provider) != provider) continue;
            var signature = r.MetaValue(ReasoningMeta.Signature);
            switch (r.MetaValue(ReasoningMeta.Type))
            {
                case "functionCall" when signature is not null:
                    var i = parts.FindIndex(p => p.FunctionCall?.Id == r.MetaValue(ReasoningMeta.ToolCallId));
                    if (i >= 0) parts[i] = parts[i] with { ThoughtSignature = signature };
                    break;
                case "text" when signature is not null:
                    var t = parts.FindLastIndex(p => p.Text is not null && p.Thought is null);
                    if (t >= 0) parts[t] = parts[t] with { ThoughtSignature = signature };
                    else parts.Add(new GooglePart { Text = "", ThoughtSignature = signature });
                    break;
                case "thought" when signature is not null:
                    thoughts.Add(new GooglePart { Text = r.Value, Thought = true, ThoughtSignature = signature });
                    break;
            }
        }
        parts.InsertRange(0, thoughts);
        // A turn that carries no state of this provider's at all (another provider made it, or the client wrote it) gets, on its
        // first function call, the value Google documents for calls the model did not make; Gemini 3 accepts it in place of a
        // signature. A turn with this provider's state is sent as it came: a missing signature there is the caller's to fix.
        var own = m.Parts.Any(p => p.Kind == ChatPartKind.Reasoning && p.MetaValue(ReasoningMeta.Provider) == provider);
        if (validatesSignatures && !own && parts.FindIndex(p => p.FunctionCall is not null) is var first and >= 0 && parts[first].ThoughtSignature is null)
            parts[first] = parts[first] with { ThoughtSignature = ForeignCallSignature };
    }

    /// <summary>https://ai.google.dev/gemini-api/docs/thought-signatures (FAQ: calls not generated by Gemini 3).</summary>
    public const string ForeignCallSignature = "skip_thought_signature_validator";

    /// <summary>Audio as inline data (raw bytes) or file data (a URL), with its MIME type (https://ai.google.dev/gemini-api/docs/audio).</summary>
    private static GooglePart ToAudioPart(ChatPart part)
    {
        if (DataUrls.TryParse(part.Value, out var mime, out var data)) return new GooglePart { InlineData = new GoogleBlob(mime, data) };
        var type = part.MimeType ?? Path.GetExtension(new Uri(part.Value).AbsolutePath).ToLowerInvariant() switch
        {
            ".wav" => "audio/wav",
            ".mp3" => "audio/mp3",
            ".flac" => "audio/flac",
            ".ogg" => "audio/ogg",
            ".aac" => "audio/aac",
            _ => throw new ChatRequestException("an audio URL needs its type in meta.mimeType"),
        };
        return new GooglePart { FileData = new GoogleFileData(type, part.Value) };
    }

    /// <summary>OpenAI's <c>{"type":"json_schema","json_schema":{"schema":{…}}}</c> as a full JSON Schema for <c>responseJsonSchema</c>.</summary>
    private static JsonElement? JsonSchemaOf(JsonElement? format) =>
        format is { } f && f.TryGetProperty("type", out var t) && t.ValueKind == JsonValueKind.String && t.GetString() == "json_schema"
            && f.TryGetProperty("json_schema", out var js) && js.ValueKind == JsonValueKind.Object && js.TryGetProperty("schema", out var schema)
            ? schema : null;

    private static bool IsJsonObject(JsonElement? format) =>
        format is { } f && f.TryGetProperty("type", out var t) && t.ValueKind == JsonValueKind.String && t.GetString() == "json_object";

    private static GooglePart ToImagePart(string url)
    {
        if (url.StartsWith("data:", StringComparison.Ordinal) && url.IndexOf(";base64,", StringComparison.Ordinal) is var i and > 5)
            return new GooglePart { InlineData = new GoogleBlob(url[5..i], url[(i + 8)..]) };
        var mime = Path.GetExtension(new Uri(url).AbsolutePath).ToLowerInvariant() switch
        {
            ".png" => "image/png",
            ".gif" => "image/gif",
            ".webp" => "image/webp",
            _ => "image/jpeg",
        };
        return new GooglePart { FileData = new GoogleFileData(mime, url) };
    }

    /// <summary>A tool result must be an object: JSON objects pass, anything else is wrapped as <c>{"result": …}</c>.</summary>
    private static JsonElement ToResponseObject(string text)
    {
        try
        {
            using var doc = JsonDocument.Parse(text);
            if (doc.RootElement.ValueKind == JsonValueKind.Object) return doc.RootElement.Clone();
            return JsonSerializer.SerializeToElement(new JsonObject { ["result"] = JsonNode.Parse(text) });
        }
        catch (JsonException)
        {
            return JsonSerializer.SerializeToElement(new JsonObject { ["result"] = text });
        }
    }

    /// <summary><c>response_format.response_mime_type</c>, e.g. <c>application/json</c> (https://ai.google.dev/api/generate-content#generationconfig).</summary>
    private static string? MimeType(JsonElement mime) => mime.ValueKind switch
    {
        JsonValueKind.String => mime.GetString(),
        JsonValueKind.Null => null,
        _ => throw new ChatRequestException($"modelParameters[\"{ModelParameters.ResponseFormat}\"].response_mime_type must be a string"),
    };

    private static GoogleToolConfig? ToToolConfig(ChatToolMode? mode) => mode switch
    {
        null => null,
        ChatToolMode.Auto => new(new("AUTO")),
        ChatToolMode.Required => new(new("ANY")),
        ChatToolMode.None => new(new("NONE")),
        _ => throw new ArgumentOutOfRangeException(nameof(mode)),
    };

    /// <summary><c>model.thinking</c>'s <c>include_thoughts</c> and <c>thinking_budget</c> (https://ai.google.dev/gemini-api/docs/thinking).</summary>
    /// <summary><c>model.include_reasoning</c> asks for thought summaries too, unless <c>include_thoughts</c> says otherwise.</summary>
    private static GoogleThinkingConfig? ToThinking(ChatThinking? thinking, bool includeReasoning)
    {
        var include = thinking?.IncludeThoughts ?? (includeReasoning ? true : null);
        return include is not null || thinking?.ThinkingBudget is not null ? new GoogleThinkingConfig(include, thinking?.ThinkingBudget) : null;
    }

    /// <summary>
    /// Appends what one streamed chunk says; function calls arrive whole and get ids when the API gives
    /// none. Returns true when the chunk carries the finish reason (the API sends no other end marker).
    /// </summary>
    public static bool FromResponse(GoogleResponse response, string provider, GoogleStreamState state, List<ChatUpdate> updates)
    {
        if (response.Error is { } error) throw FromError(error, provider, null);
        if (response.UsageMetadata is { } u) updates.Add(ChatUpdate.FromUsage(FromUsage(u)));
        if (response.Candidates is not { Count: > 0 } candidates)
        {
            if (response.PromptFeedback?.BlockReason is not null)
            {
                updates.Add(ChatUpdate.Finished(ChatFinishReason.ContentFilter));
                return true;
            }
            return false;
        }
        var candidate = candidates[0];
        foreach (var part in candidate.Content?.Parts ?? [])
        {
            var position = state.Parts++;
            if (part.Thought == true)
            {
                // Thought summaries (asked for with includeThoughts) are reasoning block 0; a signed thought keeps its signature.
                updates.Add(ChatUpdate.FromReasoning(0, part.Text, Signed(provider, "thought", part.ThoughtSignature, position)));
                continue;
            }
            if (!string.IsNullOrEmpty(part.Text)) updates.Add(ChatUpdate.FromText(part.Text));
            if (part.FunctionCall is { } call)
            {
                if (string.IsNullOrEmpty(call.Name) && state.OpenCall is { } open)
                {
                    // Vertex AI's streamed arguments: a nameless part continues the open call, and one that will not continue ends it.
                    foreach (var piece in call.PartialArgs ?? []) GoogleStreamState.Apply(state.OpenArgs!, piece);
                    if (call.WillContinue == true) continue;
                    updates.Add(ChatUpdate.FromToolCall(open, null, null, state.OpenArgs!.ToJsonString()));
                    state.OpenCall = null;
                    continue;
                }
                var index = state.ToolCalls++;
                var id = string.IsNullOrEmpty(call.Id) ? $"call_{state.IdPrefix}_{index}" : call.Id;
                var streamed = call.WillContinue == true;
                updates.Add(ChatUpdate.FromToolCall(index, id, call.Name, streamed ? "" : call.Args is { } args ? args.GetRawText() : "{}"));
                if (streamed)
                {
                    state.OpenCall = index;
                    state.OpenArgs = call.Args is { ValueKind: JsonValueKind.Object } start ? JsonNode.Parse(start.GetRawText())!.AsObject() : [];
                }
                if (part.ThoughtSignature is { Length: > 0 } signature)
                {
                    var meta = Signed(provider, "functionCall", signature, position);
                    meta[ReasoningMeta.ToolCallId] = id;
                    updates.Add(ChatUpdate.FromReasoning(FunctionCallBlocks + index, "", meta));
                }
            }
            else if (part.Text is not null && part.ThoughtSignature is { Length: > 0 } textSignature)
                updates.Add(ChatUpdate.FromReasoning(TextBlocks + state.TextSignatures++, "", Signed(provider, "text", textSignature, position)));
        }
        if (candidate.FinishReason is not { Length: > 0 } reason || reason == "FINISH_REASON_UNSPECIFIED") return false;
        updates.Add(ChatUpdate.Finished(FromFinishReason(reason, state.ToolCalls > 0, provider)));
        return true;
    }

    /// <summary>Reasoning block numbers: 0 is the thoughts; then one block per signed function call, then per signed text part.</summary>
    private const int FunctionCallBlocks = 1, TextBlocks = 1 << 20;

    private static Dictionary<string, string> Signed(string provider, string type, string? signature, int position)
    {
        var meta = new Dictionary<string, string> { [ReasoningMeta.Provider] = provider, [ReasoningMeta.Type] = type };
        if (!string.IsNullOrEmpty(signature))
        {
            meta[ReasoningMeta.Signature] = signature;
            meta[ReasoningMeta.PartIndex] = position.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }
        return meta;
    }

    private static ChatFinishReason FromFinishReason(string reason, bool calledTools, string provider) => reason switch
    {
        "STOP" => calledTools ? ChatFinishReason.ToolCalls : ChatFinishReason.Stop,
        "MAX_TOKENS" => ChatFinishReason.Length,
        "SAFETY" or "RECITATION" or "BLOCKLIST" or "PROHIBITED_CONTENT" or "SPII" or "LANGUAGE"
            or "IMAGE_SAFETY" or "IMAGE_PROHIBITED_CONTENT" or "IMAGE_RECITATION" => ChatFinishReason.ContentFilter,
        "MALFORMED_FUNCTION_CALL" or "UNEXPECTED_TOOL_CALL" or "TOO_MANY_TOOL_CALLS" =>
            throw new ProviderException(ProviderErrorKind.BadResponse, provider, $"{provider} stopped with {reason}", retryable: false),
        _ => new ChatFinishReason(reason.ToLowerInvariant()),
    };

    /// <summary>Output counts thinking tokens too (they are billed as output, and OpenAI counts them so).</summary>
    public static TokenUsage FromUsage(GoogleUsage u) => new(
        Input: u.PromptTokenCount is null ? null : u.PromptTokenCount + (u.ToolUsePromptTokenCount ?? 0),
        Output: u.CandidatesTokenCount is null && u.ThoughtsTokenCount is null ? null : (u.CandidatesTokenCount ?? 0) + (u.ThoughtsTokenCount ?? 0),
        Total: u.TotalTokenCount,
        CachedInput: u.CachedContentTokenCount,
        Reasoning: u.ThoughtsTokenCount);

    /// <summary>Reads a Google RPC error body; a bad API key (400 API_KEY_INVALID) is a 401, RetryInfo a retry delay.</summary>
    public static ProviderErrorDescription DescribeError(string body)
    {
        GoogleError? error;
        try { error = JsonSerializer.Deserialize(body, GoogleJsonContext.Default.GoogleErrorBody)?.Error; }
        catch (JsonException) { return default; }
        if (error is null) return default;
        return new ProviderErrorDescription($"{error.Message} (status {error.Status ?? "none"})",
            Kind: IsBadKey(error) ? ProviderErrorKind.Unauthorized : null, RetryAfter: RetryDelay(error));
    }

    /// <summary>An in-band <c>{"error":…}</c> chunk as a <see cref="ProviderException"/>.</summary>
    public static ProviderException FromError(GoogleError error, string provider, int? httpStatus)
    {
        var kind = IsBadKey(error) ? ProviderErrorKind.Unauthorized : error.Status switch
        {
            "UNAUTHENTICATED" => ProviderErrorKind.Unauthorized,
            "PERMISSION_DENIED" => ProviderErrorKind.Forbidden,
            "NOT_FOUND" => ProviderErrorKind.NotFound,
            "RESOURCE_EXHAUSTED" => ProviderErrorKind.RateLimited,
            "UNAVAILABLE" => ProviderErrorKind.Overloaded,
            "DEADLINE_EXCEEDED" => ProviderErrorKind.Timeout,
            "INVALID_ARGUMENT" or "FAILED_PRECONDITION" => ProviderErrorKind.InvalidRequest,
            _ => ProviderErrorKind.UpstreamError,
        };
        return new ProviderException(kind, provider, $"{provider} stream error: {error.Message} (status {error.Status ?? "none"})", httpStatus ?? error.Code);
    }

    private static bool IsBadKey(GoogleError error) =>
        error.Details?.Any(d => d.TryGetProperty("reason", out var r) && r.GetString() == "API_KEY_INVALID") == true;

    private static TimeSpan? RetryDelay(GoogleError error)
    {
        foreach (var d in error.Details ?? [])
            if (d.TryGetProperty("retryDelay", out var delay) && delay.GetString() is { } text && text.EndsWith('s')
                && double.TryParse(text[..^1], System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var seconds))
                return TimeSpan.FromSeconds(seconds);
        return null;
    }
}

/// <summary>What the stream translation remembers between chunks.</summary>
internal sealed class GoogleStreamState
{
    public int ToolCalls;
    public int Parts;
    public int TextSignatures;
    public string IdPrefix { get; } = Guid.NewGuid().ToString("N")[..8];
    /// <summary>The tool call whose arguments Vertex AI is still streaming, and what has come of them.</summary>
    public int? OpenCall;
    public JsonObject? OpenArgs;

    /// <summary>Puts a piece of streamed arguments at its <c>$.a.b</c> path; a string piece continues the string already there.</summary>
    public static void Apply(JsonObject args, GooglePartialArg piece)
    {
        if (piece.JsonPath is not { } path || !path.StartsWith("$.", StringComparison.Ordinal)) return;
        var keys = path[2..].Split('.');
        var target = args;
        foreach (var key in keys[..^1])
        {
            if (target[key] is not JsonObject inner) target[key] = inner = [];
            target = inner;
        }
        var last = keys[^1];
        if (piece.StringValue is { } text) target[last] = (target[last] is JsonValue v && v.TryGetValue<string>(out var before) ? before : "") + text;
        else if (piece.NumberValue is { } number) target[last] = JsonNode.Parse(number.GetRawText());
        else if (piece.BoolValue is { } flag) target[last] = flag;
        else if (piece.NullValue is not null) target[last] = null;
    }
}
