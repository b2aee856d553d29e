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
/// </summary>
public sealed class IntegrationChatClient(IntegrationClient client, string provider, IReadOnlyDictionary<string, string> credential, string? defaultModel = null) : IChatClient
{
    private readonly ChatClientMetadata _metadata = new("integration-api", null, defaultModel);

    /// <inheritdoc />
    public Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default) =>
        GetStreamingResponseAsync(messages, options, cancellationToken).ToChatResponseAsync(cancellationToken);

    /// <inheritdoc />
    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var request = ToRequest(messages, options);
        await foreach (var response in client.StreamAsync(request, cancellationToken).ConfigureAwait(false))
        {
            var id = response.RequestId.ToString(CultureInfo.InvariantCulture);
            if (response.FinishReason.Length == 0)
            {
                yield return new ChatResponseUpdate(ChatRole.Assistant, Text(response.Data)) { ResponseId = id, ModelId = options?.ModelId ?? defaultModel };
                continue;
            }
            if (!response.Success)
                throw new IntegrationRequestException(response.Code, response.Error?.ErrorMessage ?? "the request failed", response.Error?.HumanMessage ?? "");
            yield return Final(response, id);
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
            Credential = new Proto.Credential { Value = new Struct() },
        };
        foreach (var (k, v) in credential) request.Credential.Value.Fields[k] = Value.ForString(v);
        foreach (var m in messages) request.Conversations.Add(ToMessage(m));

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
        foreach (var tool in options?.Tools?.OfType<AIFunctionDeclaration>() ?? [])
            request.ToolDefinitions.Add(new Proto.ToolDefinition
            {
                Type = "function",
                FunctionDefinition = new Proto.FunctionDefinition { Name = tool.Name, Description = tool.Description, Parameters = ToParameter(tool.JsonSchema) },
            });
        return request;
    }

    private static Common.Message ToMessage(ChatMessage m)
    {
        var message = new Common.Message { Role = m.Role.Value };
        foreach (var content in m.Contents)
        {
            switch (content)
            {
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

    private static ChatResponseUpdate Final(Proto.ChatResponse response, string id)
    {
        var contents = new List<AIContent>();
        foreach (var call in response.Data?.ToolCalls ?? [])
            contents.Add(new FunctionCallContent(call.Id, call.Function?.Name ?? "", ParseArguments(call.Function?.Arguments)));
        long? Metric(string name) => response.Metrics.FirstOrDefault(m => m.Name == name) is { } m && long.TryParse(m.Value, CultureInfo.InvariantCulture, out var v) ? v : null;
        contents.Add(new UsageContent(new UsageDetails
        {
            InputTokenCount = Metric(IntegrationApi.Contracts.MetricNames.InputTokens),
            OutputTokenCount = Metric(IntegrationApi.Contracts.MetricNames.OutputTokens),
            TotalTokenCount = Metric(IntegrationApi.Contracts.MetricNames.TotalTokens),
        }));
        return new ChatResponseUpdate(ChatRole.Assistant, contents)
        {
            ResponseId = id,
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
}
