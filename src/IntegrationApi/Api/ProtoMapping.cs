using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using IntegrationApi.Chat;
using IntegrationApi.Contracts.Common;
using IntegrationApi.Engine;
using Proto = IntegrationApi.Contracts;

namespace IntegrationApi.Api;

/// <summary>Translation between the protobuf contract and the engine's provider-neutral types.</summary>
internal static class ProtoMapping
{
    private static readonly UTF8Encoding StrictUtf8 = new(false, throwOnInvalidBytes: true);

    /// <summary>Validates and translates a request; a problem throws a <see cref="ChatRequestException"/> naming it.</summary>
    public static ChatRequest ToChatRequest(Proto.ChatRequest request)
    {
        if (request.Credential?.Value is not { Fields.Count: > 0 })
            throw new ChatRequestException("credential.value is required (e.g. {\"key\": \"...\"})");
        if (request.Conversations.Count == 0)
            throw new ChatRequestException("conversations must hold at least one message");

        var messages = new ChatMessage[request.Conversations.Count];
        for (var i = 0; i < messages.Length; i++) messages[i] = ToMessage(request.Conversations[i], i);
        if (request.ClientRequestId.Length > MaxClientRequestIdLength)
            throw new ChatRequestException($"clientRequestId is longer than {MaxClientRequestIdLength} characters");
        CheckAdditionalData(request.AdditionalData);
        var options = ChatOptions.From(ToParameters(request.ModelParameters));
        return new ChatRequest(messages, ToTools(request.ToolDefinitions), options, ToCredential(request.Credential));
    }

    /// <summary>
    /// The request as fallback target <paramref name="index"/> gets it: the target's credential (or the request's), and the
    /// request's model parameters with the target's replacing them key by key; a problem is a 400 naming the target.
    /// </summary>
    public static ChatRequest ToTargetRequest(ChatRequest primary, Proto.ChatRequest request, Proto.ChatTarget target, int index)
    {
        try
        {
            var parameters = new Dictionary<string, Any>(request.ModelParameters);
            foreach (var (key, value) in target.ModelParameters) parameters[key] = value;
            var credential = target.Credential is null ? primary.Credential : ToCredential(target.Credential);
            return primary with { Options = ChatOptions.From(ToParameters(parameters)), Credential = credential };
        }
        catch (ChatRequestException ex)
        {
            throw new ChatRequestException($"fallbacks[{index}]: {ex.Message}");
        }
    }

    /// <summary>Longest <c>clientRequestId</c> accepted (it is echoed on every response of the request).</summary>
    public const int MaxClientRequestIdLength = 256;

    /// <summary><c>additionalData</c> goes into the audit record: bounded like <c>CreateMetadata</c>.</summary>
    internal static void CheckAdditionalData(IDictionary<string, string> data)
    {
        if (data.Count > Audit.AuditTrail.MaxMetadataEntries)
            throw new ChatRequestException($"additionalData has {data.Count} entries; at most {Audit.AuditTrail.MaxMetadataEntries}");
        foreach (var (key, value) in data)
        {
            if (key.Length is 0 || key.Length > Audit.AuditTrail.MaxMetadataKeyLength)
                throw new ChatRequestException($"additionalData keys must be 1 to {Audit.AuditTrail.MaxMetadataKeyLength} characters");
            if (value.Length > Audit.AuditTrail.MaxMetadataValueLength)
                throw new ChatRequestException($"additionalData[\"{ProtoJson.Printable(key)}\"] is longer than {Audit.AuditTrail.MaxMetadataValueLength} characters");
        }
    }

    /// <summary>The request's provider secret; a missing or empty one is a 400.</summary>
    public static ProviderCredential ToCredential(Proto.Credential? credential) =>
        credential?.Value is { Fields.Count: > 0 } secret
            ? new ProviderCredential(credential.Id, ToCredentialValues(secret))
            : throw new ChatRequestException("credential.value is required (e.g. {\"key\": \"...\"})");

    private static Dictionary<string, string> ToCredentialValues(Struct secret)
    {
        var values = new Dictionary<string, string>(secret.Fields.Count, StringComparer.Ordinal);
        foreach (var (key, value) in secret.Fields)
            values[key] = ProtoJson.ToText(value, $"credential.value.{ProtoJson.Printable(key)}");
        return values;
    }

    private static ChatMessage ToMessage(Message message, int index)
    {
        var role = message.Role.ToLowerInvariant() switch
        {
            "system" or "developer" => ChatRole.System,
            "user" => ChatRole.User,
            "assistant" or "model" => ChatRole.Assistant,
            "tool" => ChatRole.Tool,
            _ => throw new ChatRequestException($"conversations[{index}].role \"{ProtoJson.Printable(message.Role)}\" is unknown (system, user, assistant, tool)"),
        };
        var parts = new List<ChatPart>(message.Contents.Count);
        for (var c = 0; c < message.Contents.Count; c++)
            parts.Add(ToPart(message.Contents[c], role, index, c));
        var calls = new List<ChatToolCall>(message.ToolCalls.Count);
        foreach (var call in message.ToolCalls)
        {
            if (string.IsNullOrEmpty(call.Id) || string.IsNullOrEmpty(call.Function?.Name))
                throw new ChatRequestException($"conversations[{index}].toolCalls need an id and function.name");
            var (text, parsed) = ToolArguments(call.Function.Arguments, index);
            calls.Add(new ChatToolCall(call.Id, call.Function.Name, text) { ParsedArguments = parsed });
        }
        if (calls.Count > 0 && role != ChatRole.Assistant)
            throw new ChatRequestException($"conversations[{index}]: only assistant messages carry toolCalls");
        return new ChatMessage(role, parts, calls);
    }

    private static readonly JsonElement EmptyObject = JsonDocument.Parse("{}").RootElement;

    /// <summary>A tool call's arguments: a JSON object (empty means <c>{}</c>), as every provider needs them; the text and the object.</summary>
    private static (string Text, JsonElement Parsed) ToolArguments(string arguments, int index)
    {
        if (string.IsNullOrWhiteSpace(arguments)) return ("{}", EmptyObject);
        try
        {
            using var doc = JsonDocument.Parse(arguments, new JsonDocumentOptions { MaxDepth = 64 });
            if (doc.RootElement.ValueKind == JsonValueKind.Object) return (arguments, doc.RootElement.Clone());
        }
        catch (JsonException) { }
        throw new ChatRequestException($"conversations[{index}].toolCalls: function.arguments must be a JSON object");
    }

    private static ChatPart ToPart(Content content, ChatRole role, int index, int c)
    {
        var where = $"conversations[{index}].contents[{c}]";
        var meta = ToMeta(content.Meta, where);
        if (role == ChatRole.Tool)
        {
            // The original convention: contentType holds the tool-call id, content the result.
            if (string.IsNullOrEmpty(content.ContentType))
                throw new ChatRequestException($"{where}: a tool result needs the tool-call id in contentType");
            return new ChatPart(ChatPartKind.ToolResult, Text(content, where), content.ContentType, content.Name) { Meta = meta };
        }
        var url = content.ContentFormat.Equals("url", StringComparison.OrdinalIgnoreCase);
        var mime = meta is not null && meta.TryGetValue(ChatContentMeta.MimeType, out var m) && m.Length > 0 ? m : null;
        return content.ContentType.ToLowerInvariant() switch
        {
            "" or "text" => ChatPart.FromText(Text(content, where)) with { Meta = meta },
            // Reasoning state goes back only on the assistant turn that carried it (docs/contract.md §8.1).
            "reasoning" when role == ChatRole.Assistant => new ChatPart(ChatPartKind.Reasoning, Text(content, where)) { Meta = meta },
            "reasoning" => throw new ChatRequestException($"{where}: reasoning contents belong to assistant messages"),
            "image" when url => new ChatPart(ChatPartKind.ImageUrl, Text(content, where)) { Meta = meta, MimeType = mime },
            "image" => ImagePart(content.Content_, mime, where) with { Meta = meta },
            "audio" when url => new ChatPart(ChatPartKind.Audio, Text(content, where)) { Meta = meta, MimeType = mime },
            "audio" => AudioPart(content.Content_, mime ?? AudioMime(content.Content_.Span, where), where) with { Meta = meta },
            _ => throw new ChatRequestException($"{where}.contentType \"{ProtoJson.Printable(content.ContentType)}\" is not supported for chat (text, image, audio, reasoning)"),
        };
    }

    /// <summary>Most entries a content's <c>meta</c> may have, and the longest value (a signature can be long).</summary>
    public const int MaxMetaEntries = 16, MaxMetaValueLength = 1 << 20;

    /// <summary>A content's <c>meta</c> as text values (numbers and booleans as their JSON text); null when there is none.</summary>
    private static Dictionary<string, string>? ToMeta(Struct? meta, string where)
    {
        if (meta is not { Fields.Count: > 0 }) return null;
        if (meta.Fields.Count > MaxMetaEntries) throw new ChatRequestException($"{where}.meta has {meta.Fields.Count} entries; at most {MaxMetaEntries}");
        var values = new Dictionary<string, string>(meta.Fields.Count, StringComparer.Ordinal);
        foreach (var (key, value) in meta.Fields)
        {
            var text = ProtoJson.ToText(value, $"{where}.meta.{ProtoJson.Printable(key)}");
            if (text.Length > MaxMetaValueLength) throw new ChatRequestException($"{where}.meta.{ProtoJson.Printable(key)} is longer than {MaxMetaValueLength} characters");
            values[key] = text;
        }
        return values;
    }

    /// <summary>Raw image bytes become a data URL; the type is <c>meta.mimeType</c>, else read from the bytes' signature.</summary>
    private static ChatPart ImagePart(ByteString bytes, string? mime, string where)
    {
        mime ??= bytes.Span switch
        {
            [0x89, 0x50, 0x4E, 0x47, ..] => "image/png",
            [0xFF, 0xD8, 0xFF, ..] => "image/jpeg",
            [0x47, 0x49, 0x46, 0x38, ..] => "image/gif",
            [0x52, 0x49, 0x46, 0x46, _, _, _, _, 0x57, 0x45, 0x42, 0x50, ..] => "image/webp",
            _ => throw new ChatRequestException($"{where}: raw image bytes must be PNG, JPEG, GIF or WebP, or name their type in meta.mimeType (or send contentFormat \"url\")"),
        };
        if (!mime.StartsWith("image/", StringComparison.OrdinalIgnoreCase) || mime.Any(ch => char.IsControl(ch) || ch is ';' or ','))
            throw new ChatRequestException($"{where}.meta.mimeType \"{ProtoJson.Printable(mime)}\" is not an image type");
        return new ChatPart(ChatPartKind.ImageUrl, DataUrl(bytes, mime, where)) { MimeType = mime };
    }

    /// <summary>The type of raw audio bytes from their signature (WAV, MP3, FLAC, OGG); anything else needs <c>meta.mimeType</c>.</summary>
    private static string AudioMime(ReadOnlySpan<byte> span, string where) => span switch
    {
        [0x52, 0x49, 0x46, 0x46, _, _, _, _, 0x57, 0x41, 0x56, 0x45, ..] => "audio/wav",
        [0x49, 0x44, 0x33, ..] or [0xFF, 0xFB, ..] or [0xFF, 0xF3, ..] or [0xFF, 0xF2, ..] => "audio/mpeg",
        [0x66, 0x4C, 0x61, 0x43, ..] => "audio/flac",
        [0x4F, 0x67, 0x67, 0x53, ..] => "audio/ogg",
        _ => throw new ChatRequestException($"{where}: raw audio bytes must be WAV, MP3, FLAC or OGG, or name their type in meta.mimeType (or send contentFormat \"url\")"),
    };

    private static ChatPart AudioPart(ByteString bytes, string mime, string where) =>
        new(ChatPartKind.Audio, DataUrl(bytes, mime, where)) { MimeType = mime };

    private static string DataUrl(ByteString bytes, string mime, string where)
    {
        if (mime.Any(ch => char.IsControl(ch) || ch is ';' or ',' or ' '))
            throw new ChatRequestException($"{where}.meta.mimeType \"{ProtoJson.Printable(mime)}\" is not a MIME type");
        return $"data:{mime};base64,{Convert.ToBase64String(bytes.Span)}";
    }

    private static string Text(Content content, string where)
    {
        try { return StrictUtf8.GetString(content.Content_.Span); }
        catch (DecoderFallbackException) { throw new ChatRequestException($"{where}.content is not valid UTF-8"); }
    }

    private static ChatTool[] ToTools(IList<Proto.ToolDefinition> definitions)
    {
        if (definitions.Count == 0) return [];
        var tools = new ChatTool[definitions.Count];
        for (var i = 0; i < tools.Length; i++)
        {
            var d = definitions[i];
            if (d.Type.Length > 0 && !d.Type.Equals("function", StringComparison.OrdinalIgnoreCase))
                throw new ChatRequestException($"toolDefinitions[{i}].type \"{ProtoJson.Printable(d.Type)}\" is not supported (function)");
            if (d.FunctionDefinition is not { Name.Length: > 0 } f)
                throw new ChatRequestException($"toolDefinitions[{i}].functionDefinition.name is required");
            var meta = ToMeta(d.Meta, $"toolDefinitions[{i}]");
            tools[i] = new ChatTool(f.Name, f.Description, ToSchema(f.Parameters, $"toolDefinitions[{i}].functionDefinition.parameters"))
            {
                CacheControl = meta?.GetValueOrDefault(ChatContentMeta.CacheControl),
                CacheTtl = meta?.GetValueOrDefault(ChatContentMeta.CacheTtl),
            };
        }
        return tools;
    }

    /// <summary>
    /// Deepest nesting of <c>items</c> in a tool schema. Each level is three JSON levels (schema, properties,
    /// property), so 16 keeps the schema within the 64 levels every JSON reader downstream accepts.
    /// </summary>
    public const int MaxSchemaDepth = 16;

    /// <summary>The original's FunctionParameter as a JSON schema object, built once for every provider to send as is.</summary>
    private static JsonElement ToSchema(Proto.FunctionParameter? parameters, string where)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var w = new Utf8JsonWriter(buffer)) WriteSchema(w, parameters, where, 0);
        using var doc = JsonDocument.Parse(buffer.WrittenMemory);
        return doc.RootElement.Clone();
    }

    private static void WriteSchema(Utf8JsonWriter w, Proto.FunctionParameter? p, string where, int depth)
    {
        if (depth > MaxSchemaDepth) throw new ChatRequestException($"{where}: items are nested more than {MaxSchemaDepth} levels deep");
        w.WriteStartObject();
        w.WriteString("type", string.IsNullOrEmpty(p?.Type) ? "object" : p.Type);
        w.WriteStartObject("properties");
        if (p is not null)
        {
            foreach (var (name, prop) in p.Properties.OrderBy(kv => kv.Key, StringComparer.Ordinal))
            {
                w.WriteStartObject(name);
                if (prop.Type.Length > 0) w.WriteString("type", prop.Type);
                if (prop.Description.Length > 0) w.WriteString("description", prop.Description);
                if (prop.Enum.Count > 0)
                {
                    w.WriteStartArray("enum");
                    foreach (var e in prop.Enum) w.WriteStringValue(e);
                    w.WriteEndArray();
                }
                if (prop.Items is not null)
                {
                    w.WritePropertyName("items");
                    WriteSchema(w, prop.Items, where, depth + 1);
                }
                w.WriteEndObject();
            }
        }
        w.WriteEndObject();
        if (p is { Required.Count: > 0 })
        {
            w.WriteStartArray("required");
            foreach (var r in p.Required) w.WriteStringValue(r);
            w.WriteEndArray();
        }
        w.WriteEndObject();
    }

    /// <summary>Each <c>Any</c> (a packed <c>Value</c> or a wrapper type) becomes a JSON value.</summary>
    internal static ModelParameters ToParameters(IDictionary<string, Any> parameters)
    {
        if (parameters.Count == 0) return ModelParameters.Empty;
        var values = new Dictionary<string, JsonElement>(parameters.Count, StringComparer.Ordinal);
        foreach (var (key, any) in parameters)
            values[key] = ProtoJson.FromAny(any, $"modelParameters[\"{ProtoJson.Printable(key)}\"]");
        return new ModelParameters(values);
    }

    /// <summary>A delta: one text piece of the answer.</summary>
    public static Proto.ChatResponse Delta(ulong requestId, string clientRequestId, string text) => new()
    {
        Code = 200,
        Success = true,
        RequestId = requestId,
        ClientRequestId = clientRequestId,
        Data = new Message
        {
            Role = "assistant",
            Contents = { new Content { ContentType = "text", ContentFormat = "raw", Content_ = ByteString.CopyFromUtf8(text) } },
        },
    };

    /// <summary>A reasoning delta (<c>model.include_reasoning</c>): content type <c>reasoning</c>, never mixed with text.</summary>
    public static Proto.ChatResponse ReasoningDelta(ulong requestId, string clientRequestId, string text)
    {
        var response = Delta(requestId, clientRequestId, text);
        response.Data.Contents[0].ContentType = ReasoningContentType;
        return response;
    }

    /// <summary>The content type of reasoning contents (docs/contract.md §8).</summary>
    public const string ReasoningContentType = "reasoning";

    /// <summary>The terminal response of a request that ran.</summary>
    public static Proto.ChatResponse Terminal(ChatOutcome outcome, string clientRequestId)
    {
        if (outcome.Error is { } error) return Failure(outcome.RequestId, clientRequestId, error, outcome);
        var result = outcome.Result!;
        var message = new Message { Role = "assistant" };
        if (result.Text.Length > 0)
            message.Contents.Add(new Content { ContentType = "text", ContentFormat = "raw", Content_ = ByteString.CopyFromUtf8(result.Text) });
        // Reasoning state after the text, so a client that reads text contents only sees no change (docs/contract.md §8.1).
        foreach (var r in result.Reasoning)
        {
            var content = new Content { ContentType = ReasoningContentType, ContentFormat = "raw", Content_ = ByteString.CopyFromUtf8(r.Text), Meta = new Struct() };
            foreach (var (key, value) in r.Meta) content.Meta.Fields[key] = Value.ForString(value);
            message.Contents.Add(content);
        }
        foreach (var call in result.ToolCalls)
            message.ToolCalls.Add(new ToolCall { Id = call.Id, Type = "function", Function = new FunctionCall { Name = call.Name, Arguments = call.Arguments } });
        var response = new Proto.ChatResponse
        {
            Code = 200,
            Success = true,
            RequestId = outcome.RequestId,
            ClientRequestId = clientRequestId,
            Data = message,
            FinishReason = result.FinishReason.Value,
        };
        AddMetrics(response, outcome, result.Usage);
        return response;
    }

    /// <summary>The terminal response of a failed request; <paramref name="outcome"/> is null when it never ran.</summary>
    public static Proto.ChatResponse Failure(ulong requestId, string clientRequestId, ChatError error, ChatOutcome? outcome = null)
    {
        var response = new Proto.ChatResponse
        {
            Code = error.Code,
            Success = false,
            RequestId = requestId,
            ClientRequestId = clientRequestId,
            Error = new Error { ErrorCode = (ulong)error.Code, ErrorMessage = error.Message, HumanMessage = error.HumanMessage },
            FinishReason = error.FinishReason.Value,
        };
        if (outcome is not null) AddMetrics(response, outcome, null);
        else response.Metrics.Add(Metric(Proto.MetricNames.RequestId, requestId));
        return response;
    }

    private static void AddMetrics(Proto.ChatResponse response, ChatOutcome outcome, TokenUsage? usage)
    {
        var m = response.Metrics;
        m.Add(Metric(Proto.MetricNames.RequestId, outcome.RequestId));
        m.Add(new Metric { Name = Proto.MetricNames.Status, Value = outcome.Succeeded ? Proto.MetricNames.StatusSuccess : Proto.MetricNames.StatusFailed });
        m.Add(Metric(Proto.MetricNames.TimeTaken, (ulong)(outcome.Elapsed.Ticks * 100)));
        if (outcome.TimeToFirstToken is { } ttft) m.Add(Metric(Proto.MetricNames.TimeToFirstToken, (ulong)(ttft.Ticks * 100)));
        if (outcome.Provider.Length > 0) m.Add(new Metric { Name = Proto.MetricNames.ProviderName, Value = outcome.Provider });
        if (outcome.Model.Length > 0) m.Add(new Metric { Name = Proto.MetricNames.ModelName, Value = outcome.Model });
        if (outcome.Targets.Count > 0) m.Add(Metric(Proto.MetricNames.Attempts, (ulong)outcome.Targets.Count));
        if (outcome.CostUsd is { } cost) m.Add(new Metric { Name = Proto.MetricNames.CostUsd, Value = Pricing.CallPricer.Format(cost) });
        if (usage is null) return;
        if (usage.Input is { } input) m.Add(Metric(Proto.MetricNames.InputTokens, (ulong)input));
        if (usage.Output is { } output) m.Add(Metric(Proto.MetricNames.OutputTokens, (ulong)output));
        if (usage.Total is { } total) m.Add(Metric(Proto.MetricNames.TotalTokens, (ulong)total));
        if (usage.CachedInput is { } cached) m.Add(Metric(Proto.MetricNames.CachedInputTokens, (ulong)cached));
        if (usage.Reasoning is { } reasoning) m.Add(Metric(Proto.MetricNames.ReasoningTokens, (ulong)reasoning));
        if (usage.CacheWrite is { } written) m.Add(Metric(Proto.MetricNames.CacheWriteInputTokens, (ulong)written));
    }

    private static Metric Metric(string name, ulong value) => new() { Name = name, Value = value.ToString(CultureInfo.InvariantCulture) };
}
