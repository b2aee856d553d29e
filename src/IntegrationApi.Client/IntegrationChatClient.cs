using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text.Json;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Microsoft.Extensions.AI;
using Common = IntegrationApi.Contracts.Common;
using Proto = IntegrationApi.Contracts;

namespace IntegrationApi.Client;

/// <summary>
/// <see cref="IChatClient"/> over the Integration API: .NET apps use it like any other chat client
/// (streaming, tool calls, usage) while requests ride the <see cref="IntegrationClient"/>'s shared streams.
/// Fallbacks and hedging go in <see cref="ChatOptions.AdditionalProperties"/> (<see cref="IntegrationChatOptions"/>);
/// the response's <see cref="ChatResponse.ModelId"/> is the model that served it.
/// </summary>
public sealed class IntegrationChatClient(IntegrationClient client, string provider, IReadOnlyDictionary<string, string> credential, string? defaultModel = null) : IChatClient
{
    private readonly ChatClientMetadata _metadata = new("integration-api", null, defaultModel);

    /// <summary>
    /// Credentials by provider name, for fallbacks that name another provider and bring no credential of their own
    /// (a fallback without either inherits the request's).
    /// </summary>
    public IReadOnlyDictionary<string, IReadOnlyDictionary<string, string>>? Credentials { get; init; }

    /// <inheritdoc />
    public Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default) =>
        GetStreamingResponseAsync(messages, options, cancellationToken).ToChatResponseAsync(cancellationToken);

    /// <inheritdoc />
    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var request = ToRequest(messages, options);
        // With fallbacks, which model answers is known only at the terminal (MODEL_NAME).
        var deltaModel = request.Fallbacks.Count == 0 ? options?.ModelId ?? defaultModel : null;
        var streamedReasoning = false;
        await foreach (var response in client.StreamAsync(request, cancellationToken).ConfigureAwait(false))
        {
            var id = response.RequestId.ToString(CultureInfo.InvariantCulture);
            if (response.FinishReason.Length == 0)
            {
                if (response.Data?.Contents.Any(c => c.ContentType == ReasoningType) == true)
                {
                    streamedReasoning = true;
                    yield return new ChatResponseUpdate(ChatRole.Assistant, [.. response.Data.Contents.Select(c => c.ContentType == ReasoningType
                        ? (AIContent)new TextReasoningContent(c.Content_.ToStringUtf8())
                        : new TextContent(c.Content_.ToStringUtf8()))]) { ResponseId = id, ModelId = deltaModel };
                    continue;
                }
                yield return new ChatResponseUpdate(ChatRole.Assistant, Text(response.Data)) { ResponseId = id, ModelId = deltaModel };
                continue;
            }
            var served = response.GetServedBy();
            if (!response.Success)
                throw new IntegrationRequestException(response.Code, response.Error?.ErrorMessage ?? "the request failed", response.Error?.HumanMessage ?? "")
                {
                    Provider = served?.Provider, Model = served?.Model, Attempts = served?.Attempts,
                };
            yield return Final(response, id, served, deltaModel, streamedReasoning);
        }
    }

    /// <inheritdoc />
    public object? GetService(System.Type serviceType, object? serviceKey = null) =>
        serviceKey is not null ? null
        : serviceType == typeof(ChatClientMetadata) ? _metadata
        : serviceType.IsInstanceOfType(this) ? this
        : serviceType.IsInstanceOfType(client) ? client
        : null;

    /// <inheritdoc />
    public void Dispose() { }

    private Proto.ChatRequest ToRequest(IEnumerable<ChatMessage> messages, ChatOptions? options)
    {
        var request = new Proto.ChatRequest
        {
            ProviderName = provider,
            Credential = ChatTargetSpec.ToCredential(credential),
        };
        foreach (var m in messages) request.Conversations.Add(ToMessage(m));
        AddFallbacks(request, options?.AdditionalProperties);

        void Param(string key, Value? value) { if (value is not null) request.ModelParameters[key] = Any.Pack(value); }
        Param("model.name", (options?.ModelId ?? defaultModel) is { } model ? Value.ForString(model) : null);
        Param("model.temperature", options?.Temperature is { } t ? Value.ForNumber(t) : null);
        Param("model.top_p", options?.TopP is { } p ? Value.ForNumber(p) : null);
        Param("model.top_k", options?.TopK is { } topK ? Value.ForNumber(topK) : null);
        Param("model.max_completion_tokens", options?.MaxOutputTokens is { } max ? Value.ForNumber(max) : null);
        Param("model.frequency_penalty", options?.FrequencyPenalty is { } f ? Value.ForNumber(f) : null);
        Param("model.presence_penalty", options?.PresencePenalty is { } pp ? Value.ForNumber(pp) : null);
        Param("model.seed", options?.Seed is { } seed ? Value.ForNumber(seed) : null);
        Param("model.stop", options?.StopSequences is { Count: > 0 } stop ? Value.ForList([.. stop.Select(Value.ForString)]) : null);
        Param("model.tool_choice", options?.ToolMode switch
        {
            NoneChatToolMode => Value.ForString("none"),
            RequiredChatToolMode => Value.ForString("required"),
            AutoChatToolMode => Value.ForString("auto"),
            _ => null,
        });
        Param("model.response_format", options?.ResponseFormat is ChatResponseFormatJson ? Value.ForString("{\"type\":\"json_object\"}") : null);
        // Any other model.* parameter (model.thinking, model.include_reasoning, …) as given in AdditionalProperties.
        foreach (var (key, value) in options?.AdditionalProperties ?? [])
            if (key.StartsWith("model.", StringComparison.Ordinal) && !request.ModelParameters.ContainsKey(key) && ToValue(value) is { } v)
                request.ModelParameters[key] = Any.Pack(v);
        foreach (var tool in options?.Tools?.OfType<AIFunctionDeclaration>() ?? [])
            request.ToolDefinitions.Add(new Proto.ToolDefinition
            {
                Type = "function",
                FunctionDefinition = new Proto.FunctionDefinition { Name = tool.Name, Description = tool.Description, Parameters = ToParameter(tool.JsonSchema) },
            });
        return request;
    }

    /// <summary>The <see cref="IntegrationChatOptions.Fallbacks"/> and <see cref="IntegrationChatOptions.HedgeAfter"/> options, onto <paramref name="request"/>.</summary>
    private void AddFallbacks(Proto.ChatRequest request, AdditionalPropertiesDictionary? properties)
    {
        if (properties is null) return;
        if (properties.TryGetValue(IntegrationChatOptions.Fallbacks, out var fallbacks) && fallbacks is not null)
        {
            IEnumerable<object?> items = fallbacks is string or ChatTargetSpec or Proto.ChatTarget ? [fallbacks]
                : fallbacks as System.Collections.IEnumerable is { } many ? many.Cast<object?>()
                : throw new ArgumentException($"ChatOptions.AdditionalProperties[\"{IntegrationChatOptions.Fallbacks}\"] is a {fallbacks.GetType().Name}; expected provider:model strings, ChatTargetSpec or ChatTarget");
            foreach (var item in items)
                request.Fallbacks.Add(item switch
                {
                    string s => WithCredential(ChatTargetSpec.Parse(s)).ToProto(),
                    ChatTargetSpec spec => WithCredential(spec).ToProto(),
                    Proto.ChatTarget target => target.Clone(),
                    _ => throw new ArgumentException($"a fallback is a {item?.GetType().Name ?? "null"}; expected a provider:model string, ChatTargetSpec or ChatTarget"),
                });
        }
        if (properties.TryGetValue(IntegrationChatOptions.HedgeAfter, out var hedge) && hedge is not null)
            request.HedgeAfterMs = hedge switch
            {
                TimeSpan after => ChatRequestFallbackExtensions.ToMilliseconds(after),
                int or long or uint => ChatRequestFallbackExtensions.ToMilliseconds(TimeSpan.FromMilliseconds(Convert.ToInt64(hedge, CultureInfo.InvariantCulture))),
                _ => throw new ArgumentException($"ChatOptions.AdditionalProperties[\"{IntegrationChatOptions.HedgeAfter}\"] is a {hedge.GetType().Name}; expected a TimeSpan (or milliseconds)"),
            };
    }

    /// <summary>A fallback without a credential that names another provider takes that provider's from <see cref="Credentials"/>.</summary>
    private ChatTargetSpec WithCredential(ChatTargetSpec spec) =>
        spec.Credential is null && spec.Provider is { } name && Credentials is not null && FindCredential(Credentials, name) is { } found
            ? spec with { Credential = found }
            : spec;

    private static IReadOnlyDictionary<string, string>? FindCredential(IReadOnlyDictionary<string, IReadOnlyDictionary<string, string>> credentials, string provider)
    {
        if (credentials.TryGetValue(provider, out var exact)) return exact;
        foreach (var (name, value) in credentials)
            if (name.Equals(provider, StringComparison.OrdinalIgnoreCase)) return value;
        return null;
    }

    /// <summary>The <see cref="UsageDetails.AdditionalCounts"/> key of input tokens written to the provider's prompt cache.</summary>
    public const string CacheWriteCount = "CacheWriteInputTokenCount";

    private static Common.Message ToMessage(ChatMessage m)
    {
        var message = new Common.Message { Role = m.Role.Value };
        var streamedReasoning = new System.Text.StringBuilder();
        foreach (var content in m.Contents)
        {
            switch (content)
            {
                case TextReasoningContent reasoning when m.Role == ChatRole.Assistant:
                    // Reasoning this service returned goes back with its state (ProtectedData). Streamed reasoning text arrives
                    // without state, and its state after it with no text (see Final): the text is joined back to that state here.
                    var meta = ReasoningMeta(reasoning.ProtectedData);
                    if (meta is null)
                    {
                        streamedReasoning.Append(reasoning.Text);
                        break;
                    }
                    var thought = reasoning.Text is { Length: > 0 } own ? own
                        : meta.Fields.GetValueOrDefault("type")?.StringValue is "thinking" or "thought" ? streamedReasoning.ToString() : "";
                    streamedReasoning.Clear();
                    message.Contents.Add(new Common.Content { ContentType = ReasoningType, ContentFormat = "raw", Content_ = ByteString.CopyFromUtf8(thought), Meta = meta });
                    break;
                case TextContent text:
                    message.Contents.Add(new Common.Content { ContentType = "text", ContentFormat = "raw", Content_ = ByteString.CopyFromUtf8(text.Text) });
                    break;
                case UriContent uri when uri.HasTopLevelMediaType("image"):
                    message.Contents.Add(new Common.Content { ContentType = "image", ContentFormat = "url", Content_ = ByteString.CopyFromUtf8(uri.Uri.ToString()) });
                    break;
                case DataContent data when data.HasTopLevelMediaType("image"):
                    message.Contents.Add(new Common.Content { ContentType = "image", ContentFormat = "raw", Content_ = ByteString.CopyFrom(data.Data.Span) });
                    break;
                case FunctionCallContent call:
                    message.ToolCalls.Add(new Common.ToolCall
                    {
                        Id = call.CallId, Type = "function",
                        Function = new Common.FunctionCall { Name = call.Name, Arguments = JsonSerializer.Serialize(call.Arguments ?? new Dictionary<string, object?>()) },
                    });
                    break;
                case FunctionResultContent result:
                    // The original convention: a tool message has one Content per result, contentType = the call id.
                    message.Role = "tool";
                    message.Contents.Add(new Common.Content
                    {
                        ContentType = result.CallId,
                        Content_ = ByteString.CopyFromUtf8(result.Result as string ?? JsonSerializer.Serialize(result.Result)),
                    });
                    break;
            }
        }
        return message;
    }

    private static Value? ToValue(object? value) => value switch
    {
        null => null,
        string text => Value.ForString(text),
        bool flag => Value.ForBool(flag),
        int or long or float or double or decimal => Value.ForNumber(Convert.ToDouble(value, CultureInfo.InvariantCulture)),
        JsonElement json => JsonParser.Default.Parse<Value>(json.GetRawText()),
        _ => JsonParser.Default.Parse<Value>(JsonSerializer.Serialize(value)),
    };

    private static Struct? ReasoningMeta(string? protectedData)
    {
        if (string.IsNullOrEmpty(protectedData)) return null;
        try { return JsonParser.Default.Parse<Struct>(protectedData); }
        catch (InvalidJsonException) { return null; }
        catch (InvalidProtocolBufferException) { return null; }
    }

    /// <summary>A JSON schema (as Microsoft.Extensions.AI makes them for functions) in the contract's FunctionParameter shape.</summary>
    private static Proto.FunctionParameter ToParameter(JsonElement schema)
    {
        var parameter = new Proto.FunctionParameter { Type = schema.TryGetProperty("type", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString()! : "object" };
        if (schema.TryGetProperty("required", out var required) && required.ValueKind == JsonValueKind.Array)
            parameter.Required.AddRange(required.EnumerateArray().Select(r => r.GetString() ?? ""));
        if (schema.TryGetProperty("properties", out var properties) && properties.ValueKind == JsonValueKind.Object)
            foreach (var property in properties.EnumerateObject())
                parameter.Properties[property.Name] = ToProperty(property.Value);
        return parameter;
    }

    private static Proto.FunctionParameterProperty ToProperty(JsonElement schema)
    {
        var property = new Proto.FunctionParameterProperty();
        if (schema.TryGetProperty("type", out var type))
            property.Type = type.ValueKind == JsonValueKind.Array
                ? type.EnumerateArray().Select(x => x.GetString()).FirstOrDefault(x => x != "null") ?? "string" // ["integer","null"] -> integer
                : type.GetString() ?? "";
        if (schema.TryGetProperty("description", out var description)) property.Description = description.GetString() ?? "";
        if (schema.TryGetProperty("enum", out var values) && values.ValueKind == JsonValueKind.Array)
            property.Enum.AddRange(values.EnumerateArray().Select(v => v.ToString()));
        if (schema.TryGetProperty("items", out var items) && items.ValueKind == JsonValueKind.Object) property.Items = ToParameter(items);
        return property;
    }

    private static string Text(Common.Message? message) =>
        message is null ? "" : string.Concat(message.Contents.Where(c => c.ContentType is "text" or "").Select(c => c.Content_.ToStringUtf8()));

    /// <summary>The content type of reasoning contents (docs/contract.md §8).</summary>
    private const string ReasoningType = "reasoning";

    private static ChatResponseUpdate Final(Proto.ChatResponse response, string id, ServedBy? served, string? model, bool streamedReasoning)
    {
        var contents = new List<AIContent>();
        // Reasoning state: the provider's data (Content.meta) rides in ProtectedData as JSON and goes back as meta. When its
        // text was streamed already, only the state comes here (ToChatResponseAsync joins it to the streamed text).
        foreach (var r in response.Data?.Contents.Where(c => c.ContentType == ReasoningType) ?? [])
            contents.Add(new TextReasoningContent(streamedReasoning && r.Meta?.Fields.GetValueOrDefault("type")?.StringValue is "thinking" or "thought" ? "" : r.Content_.ToStringUtf8())
            {
                ProtectedData = r.Meta is { Fields.Count: > 0 } meta ? JsonFormatter.Default.Format(meta) : null,
            });
        foreach (var call in response.Data?.ToolCalls ?? [])
            contents.Add(new FunctionCallContent(call.Id, call.Function?.Name ?? "", ParseArguments(call.Function?.Arguments)));
        long? Metric(string name) => response.Metrics.FirstOrDefault(m => m.Name == name) is { } m && long.TryParse(m.Value, CultureInfo.InvariantCulture, out var v) ? v : null;
        contents.Add(new UsageContent(new UsageDetails
        {
            InputTokenCount = Metric(IntegrationApi.Contracts.MetricNames.InputTokens),
            OutputTokenCount = Metric(IntegrationApi.Contracts.MetricNames.OutputTokens),
            TotalTokenCount = Metric(IntegrationApi.Contracts.MetricNames.TotalTokens),
            CachedInputTokenCount = Metric(IntegrationApi.Contracts.MetricNames.CachedInputTokens),
            ReasoningTokenCount = Metric(IntegrationApi.Contracts.MetricNames.ReasoningTokens),
            AdditionalCounts = Metric(IntegrationApi.Contracts.MetricNames.CacheWriteInputTokens) is { } written
                ? new AdditionalPropertiesDictionary<long> { [CacheWriteCount] = written } : null,
        }));
        AdditionalPropertiesDictionary? properties = null;
        if (served is not null)
        {
            properties = [];
            if (served.Provider.Length > 0) properties[IntegrationChatOptions.Provider] = served.Provider;
            if (served.Attempts > 0) properties[IntegrationChatOptions.Attempts] = served.Attempts;
        }
        return new ChatResponseUpdate(ChatRole.Assistant, contents)
        {
            ResponseId = id,
            ModelId = served is { Model.Length: > 0 } ? served.Model : model,
            AdditionalProperties = properties,
            FinishReason = response.FinishReason switch
            {
                "stop" => ChatFinishReason.Stop,
                "length" => ChatFinishReason.Length,
                "tool_calls" => ChatFinishReason.ToolCalls,
                "content_filter" => ChatFinishReason.ContentFilter,
                var other => new ChatFinishReason(other),
            },
        };
    }

    private static Dictionary<string, object?> ParseArguments(string? json)
    {
        if (string.IsNullOrWhiteSpace(json)) return [];
        try { return JsonSerializer.Deserialize<Dictionary<string, object?>>(json) ?? []; }
        catch (JsonException) { return new() { ["_raw"] = json }; }
    }
}

/// <summary>A request the service answered with a failure (<c>success=false</c>): its contract code and messages.</summary>
public sealed class IntegrationRequestException(int code, string message, string humanMessage) : Exception(message)
{
    /// <summary>The contract code (400, 401, 429, 502, 504, …).</summary>
    public int Code { get; } = code;

    /// <summary>The message meant for end users.</summary>
    public string HumanMessage { get; } = humanMessage;

    /// <summary>The provider of the last target that ran (<c>PROVIDER_NAME</c>), when the service said.</summary>
    public string? Provider { get; init; }

    /// <summary>The model of the last target that ran (<c>MODEL_NAME</c>), when the service said.</summary>
    public string? Model { get; init; }

    /// <summary>How many targets ran (<c>ATTEMPTS</c>), when the service said.</summary>
    public int? Attempts { get; init; }
}

/// <summary>The <see cref="ChatOptions.AdditionalProperties"/> and <see cref="ChatResponse.AdditionalProperties"/> keys of <see cref="IntegrationChatClient"/>.</summary>
public static class IntegrationChatOptions
{
    /// <summary>
    /// Request: fallback targets, tried in order when the request fails before its first token: <c>provider:model</c>
    /// strings (<c>":model"</c> keeps the provider), <see cref="ChatTargetSpec"/>s or <see cref="Proto.ChatTarget"/>s (one, or a list).
    /// </summary>
    public const string Fallbacks = "fallbacks";

    /// <summary>Request: a <see cref="TimeSpan"/> (or integer milliseconds) without a first token after which the next target starts in parallel.</summary>
    public const string HedgeAfter = "hedgeAfter";

    /// <summary>Response: the provider that served it (a string).</summary>
    public const string Provider = "provider";

    /// <summary>Response: how many targets it ran on (an int).</summary>
    public const string Attempts = "attempts";
}
