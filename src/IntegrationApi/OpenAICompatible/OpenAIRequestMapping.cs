using System.Text.Json;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using IntegrationApi.Api;
using IntegrationApi.Chat;
using IntegrationApi.Contracts.Common;
using IntegrationApi.Providers;
using Proto = IntegrationApi.Contracts;

namespace IntegrationApi.OpenAICompatible;

/// <summary>
/// Translates an OpenAI Chat Completions request into the contract's <c>ChatRequest</c> (the one the gRPC surface takes),
/// so validation, routing, fallbacks and the audit record are the gRPC surface's own. Tool schemas are the exception:
/// the contract's <c>FunctionParameter</c> cannot hold every JSON schema, so <see cref="ToTools"/> keeps OpenAI's as sent.
/// </summary>
internal static class OpenAIRequestMapping
{
    public const string ProviderKeyHeader = "x-provider-key";
    public const string ProviderCredentialHeader = "x-provider-credential";

    /// <summary>Fills <paramref name="proto"/> from <paramref name="body"/> and the credential headers; a problem throws <see cref="ChatRequestException"/>.</summary>
    /// <remarks>Filled in place, so that a request refused half-way is still audited with what was read of it.</remarks>
    public static void Fill(Proto.ChatRequest proto, CompletionRequest body, IHeaderDictionary headers)
    {
        var (provider, model) = SplitModel(body.Model, "model");
        proto.ProviderName = provider;
        Put(proto.ModelParameters, ModelParameters.Name, Value.ForString(model));
        if (body.N is > 1) throw new ChatRequestException("n greater than 1 is not supported");
        if (body.Messages is not { Count: > 0 }) throw new ChatRequestException("messages must hold at least one message");
        for (var i = 0; i < body.Messages.Count; i++)
            proto.Conversations.Add(ToMessage(body.Messages[i] ?? throw new ChatRequestException($"messages[{i}] must be an object"), i));
        if (body.Tools is { Count: > 0 })
            foreach (var tool in body.Tools.Select((t, i) => t ?? throw new ChatRequestException($"tools[{i}] must be an object")))
                proto.ToolDefinitions.Add(new Proto.ToolDefinition
                {
                    Type = tool.Type ?? "function",
                    FunctionDefinition = new Proto.FunctionDefinition { Name = tool.Function?.Name ?? "", Description = tool.Function?.Description ?? "" },
                });
        AddParameters(proto.ModelParameters, body);
        proto.Credential = Credential(headers, provider, primary: true)
            ?? throw new ChatRequestException($"the provider credential is required: header {ProviderKeyHeader} (one key) or {ProviderCredentialHeader} (a JSON object)");
        if (body.Fallbacks is { } fallbacks)
            for (var i = 0; i < fallbacks.Count; i++)
            {
                var (fallbackProvider, fallbackModel) = SplitModel(fallbacks[i], $"fallbacks[{i}]");
                var target = new Proto.ChatTarget { ProviderName = fallbackProvider };
                Put(target.ModelParameters, ModelParameters.Name, Value.ForString(fallbackModel));
                // Another provider's credential comes in its own header; the same provider's may be inherited.
                target.Credential = Credential(headers, fallbackProvider, primary: false);
                if (target.Credential is null && fallbackProvider != provider)
                    throw new ChatRequestException($"fallbacks[{i}] needs the {fallbackProvider} credential: header {ProviderKeyHeader}-{fallbackProvider} or {ProviderCredentialHeader}-{fallbackProvider}");
                proto.Fallbacks.Add(target);
            }
        proto.HedgeAfterMs = body.HedgeAfterMs ?? 0;
    }

    /// <summary>The request's tools with their JSON schemas as sent (a named <c>tool_choice</c> keeps only that tool).</summary>
    public static ChatTool[] ToTools(CompletionRequest body)
    {
        if (body.Tools is not { Count: > 0 } tools) return [];
        var result = new ChatTool[tools.Count];
        for (var i = 0; i < tools.Count; i++)
        {
            var tool = tools[i];
            if (tool.Type is { } type && type != "function") throw new ChatRequestException($"tools[{i}].type \"{ProtoJson.Printable(type)}\" is not supported (function)");
            if (tool.Function is not { Name.Length: > 0 } f) throw new ChatRequestException($"tools[{i}].function.name is required");
            var schema = f.Parameters is { ValueKind: not JsonValueKind.Null } p ? p : EmptySchema;
            if (schema.ValueKind != JsonValueKind.Object) throw new ChatRequestException($"tools[{i}].function.parameters must be a JSON schema object");
            result[i] = new ChatTool(f.Name, f.Description ?? "", schema.Clone());
        }
        if (NamedToolChoice(body) is { } named)
        {
            var only = result.Where(t => t.Name == named).ToArray();
            return only.Length > 0 ? only : throw new ChatRequestException($"tool_choice names \"{ProtoJson.Printable(named)}\", which is not in tools");
        }
        return result;
    }

    /// <summary><c>&lt;provider&gt;/&lt;model&gt;</c>: the provider (lower case, one of the eight) and the model (which may hold further slashes).</summary>
    public static (string Provider, string Model) SplitModel(string? value, string field)
    {
        var slash = value?.IndexOf('/') ?? -1;
        var provider = slash > 0 ? value![..slash].ToLowerInvariant() : "";
        if (slash <= 0 || slash == value!.Length - 1 || !ProviderNames.All.Contains(provider))
            throw new ChatRequestException($"{field} must be \"<provider>/<model>\" with provider one of {string.Join(", ", ProviderNames.All)} (got \"{ProtoJson.Printable(value ?? "")}\")");
        return (provider, value[(slash + 1)..]);
    }

    private static readonly JsonElement EmptySchema = JsonDocument.Parse("""{"type":"object","properties":{}}""").RootElement;

    private static string? NamedToolChoice(CompletionRequest body) =>
        body.ToolChoice is { ValueKind: JsonValueKind.Object } choice
        && choice.TryGetProperty("function", out var f) && f.ValueKind == JsonValueKind.Object
        && f.TryGetProperty("name", out var n) && n.ValueKind == JsonValueKind.String ? n.GetString() : null;

    private static void AddParameters(IDictionary<string, Any> p, CompletionRequest body)
    {
        if (body.Temperature is { } temperature) Put(p, ModelParameters.Temperature, Value.ForNumber(temperature));
        if (body.TopP is { } topP) Put(p, ModelParameters.TopP, Value.ForNumber(topP));
        if (body.MaxCompletionTokens is { } maxCompletion) Put(p, ModelParameters.MaxCompletionTokens, Value.ForNumber(maxCompletion));
        if (body.MaxTokens is { } maxTokens) Put(p, ModelParameters.MaxTokens, Value.ForNumber(maxTokens));
        if (body.Seed is { } seed) Put(p, ModelParameters.Seed, Value.ForNumber(seed));
        if (body.User is { } user) Put(p, ModelParameters.User, Value.ForString(user));
        if (body.FrequencyPenalty is { } frequency) Put(p, ModelParameters.FrequencyPenalty, Value.ForNumber(frequency));
        if (body.PresencePenalty is { } presence) Put(p, ModelParameters.PresencePenalty, Value.ForNumber(presence));
        if (body.ReasoningEffort is { } effort) Put(p, ModelParameters.ReasoningEffort, Value.ForString(effort));
        if (body.ServiceTier is { } tier) Put(p, ModelParameters.ServiceTier, Value.ForString(tier));
        if (body.TopLogprobs is { } topLogprobs) Put(p, ModelParameters.TopLogprobs, Value.ForNumber(topLogprobs));
        // One stop string is one sequence: as text, model.stop would be split at commas (the original's convention).
        if (body.Stop is { ValueKind: JsonValueKind.String } stopText) Put(p, ModelParameters.Stop, Value.ForList(Value.ForString(stopText.GetString()!)));
        else if (body.Stop is { ValueKind: JsonValueKind.Array } stop) Put(p, ModelParameters.Stop, ToValue(stop));
        if (body.ResponseFormat is { ValueKind: JsonValueKind.Object } format) Put(p, ModelParameters.ResponseFormat, ToValue(format));
        if (body.Metadata is { ValueKind: JsonValueKind.Object } metadata) Put(p, ModelParameters.Metadata, ToValue(metadata));
        switch (body.ToolChoice)
        {
            case { ValueKind: JsonValueKind.String } choice:
                Put(p, ModelParameters.ToolChoice, Value.ForString(choice.GetString()!));
                break;
            case { ValueKind: JsonValueKind.Object }:
                // A forced call of one function: "required", with only that tool sent (ToTools).
                if (NamedToolChoice(body) is null) throw new ChatRequestException("tool_choice must be auto, required, none or {\"type\":\"function\",\"function\":{\"name\":…}}");
                Put(p, ModelParameters.ToolChoice, Value.ForString("required"));
                break;
        }
    }

    private static Message ToMessage(CompletionMessage m, int i)
    {
        var role = m.Role ?? throw new ChatRequestException($"messages[{i}].role is required");
        var message = new Message { Role = role };
        if (role == "tool")
        {
            // The contract's convention: contentType carries the tool-call id, content the result.
            if (string.IsNullOrEmpty(m.ToolCallId)) throw new ChatRequestException($"messages[{i}].tool_call_id is required for a tool message");
            message.Contents.Add(new Content { ContentType = m.ToolCallId, ContentFormat = "raw", Content_ = ByteString.CopyFromUtf8(JoinedText(m.Content, i)), Name = m.Name ?? "" });
            return message;
        }
        switch (m.Content)
        {
            case null or { ValueKind: JsonValueKind.Null }: break;
            case { ValueKind: JsonValueKind.String } text: message.Contents.Add(TextContent(text.GetString()!)); break;
            case { ValueKind: JsonValueKind.Array } parts:
                var p = 0;
                foreach (var part in parts.EnumerateArray()) message.Contents.Add(ToContent(part, i, p++));
                break;
            default: throw new ChatRequestException($"messages[{i}].content must be a string or an array of parts");
        }
        foreach (var call in (m.ToolCalls ?? []).Select((c, k) => c ?? throw new ChatRequestException($"messages[{i}].tool_calls[{k}] must be an object")))
            message.ToolCalls.Add(new ToolCall
            {
                Id = call.Id ?? "", Type = "function",
                Function = new FunctionCall { Name = call.Function?.Name ?? "", Arguments = call.Function?.Arguments ?? "" },
            });
        return message;
    }

    private static Content ToContent(JsonElement part, int i, int p)
    {
        var type = part.ValueKind == JsonValueKind.Object && part.TryGetProperty("type", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString() : null;
        switch (type)
        {
            case "text" when part.TryGetProperty("text", out var text) && text.ValueKind == JsonValueKind.String:
                return TextContent(text.GetString()!);
            case "image_url" when part.TryGetProperty("image_url", out var image) && image.ValueKind == JsonValueKind.Object
                                  && image.TryGetProperty("url", out var url) && url.ValueKind == JsonValueKind.String:
                return new Content { ContentType = "image", ContentFormat = "url", Content_ = ByteString.CopyFromUtf8(url.GetString()!) };
            default:
                throw new ChatRequestException($"messages[{i}].content[{p}] must be a text or image_url part");
        }
    }

    /// <summary>A tool result's text: a string, or its text parts joined.</summary>
    private static string JoinedText(JsonElement? content, int i) => content switch
    {
        null or { ValueKind: JsonValueKind.Null } => "",
        { ValueKind: JsonValueKind.String } s => s.GetString()!,
        { ValueKind: JsonValueKind.Array } parts => string.Concat(parts.EnumerateArray().Select((part, p) => ToContent(part, i, p).Content_.ToStringUtf8())),
        _ => throw new ChatRequestException($"messages[{i}].content must be a string or an array of parts"),
    };

    private static Content TextContent(string text) => new() { ContentType = "text", ContentFormat = "raw", Content_ = ByteString.CopyFromUtf8(text) };

    /// <summary>The credential for <paramref name="provider"/> from the headers: its own (<c>-&lt;provider&gt;</c>) first, then, for the primary, the plain ones.</summary>
    internal static Proto.Credential? Credential(IHeaderDictionary headers, string provider, bool primary)
    {
        var found = FromHeaders(headers, "-" + provider);
        if (found is null && primary) found = FromHeaders(headers, "");
        return found is null ? null : new Proto.Credential { Value = found };
    }

    private static Struct? FromHeaders(IHeaderDictionary headers, string suffix)
    {
        var key = headers[ProviderKeyHeader + suffix].ToString();
        var json = headers[ProviderCredentialHeader + suffix].ToString();
        if (key.Length > 0 && json.Length > 0)
            throw new ChatRequestException($"send either {ProviderKeyHeader}{suffix} or {ProviderCredentialHeader}{suffix}, not both");
        if (key.Length > 0) return new Struct { Fields = { ["key"] = Value.ForString(key) } };
        if (json.Length == 0) return null;
        var values = new Struct();
        try
        {
            using var doc = JsonDocument.Parse(json, new JsonDocumentOptions { MaxDepth = 16 });
            if (doc.RootElement.ValueKind != JsonValueKind.Object) throw new JsonException();
            foreach (var property in doc.RootElement.EnumerateObject())
                // Vertex's service_account_key may come as the key's JSON object: the adapter takes it as text.
                values.Fields[property.Name] = Value.ForString(property.Value.ValueKind == JsonValueKind.String ? property.Value.GetString()! : property.Value.GetRawText());
        }
        catch (JsonException)
        {
            throw new ChatRequestException($"{ProviderCredentialHeader}{suffix} must be a JSON object (e.g. {{\"subscription_key\":\"…\",\"endpoint\":\"…\"}})");
        }
        return values.Fields.Count > 0 ? values : null;
    }

    private static void Put(IDictionary<string, Any> parameters, string key, Value value) => parameters[key] = Any.Pack(value);

    /// <summary>A JSON value as a protobuf Value; one it cannot hold (a number beyond a double, say) is the caller's 400.</summary>
    private static Value ToValue(JsonElement element)
    {
        try { return JsonParser.Default.Parse<Value>(element.GetRawText()); }
        catch (Exception e) when (e is InvalidProtocolBufferException or InvalidJsonException)
        {
            throw new ChatRequestException($"a value in the request cannot be represented ({e.Message})");
        }
    }
}
