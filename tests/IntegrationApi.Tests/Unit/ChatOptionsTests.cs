using System.Text.Json;
using Google.Protobuf.WellKnownTypes;
using IntegrationApi.Api;
using IntegrationApi.Chat;
using IntegrationApi.Contracts.Common;
using IntegrationApi.Providers.Anthropic;
using IntegrationApi.Providers.Cohere;
using IntegrationApi.Providers.GoogleGenAI;
using IntegrationApi.Providers.OpenAICompatible;
using IntegrationApi.Providers.Replicate;
using IntegrationApi.Tests.Infrastructure;

namespace IntegrationApi.Tests.Unit;

/// <summary>The model parameters are read once, at the edge, into <see cref="ChatOptions"/>; every translator sends what it says.</summary>
public sealed class ChatOptionsTests
{
    private static ChatOptions Options(string json) =>
        ChatOptions.From(new ModelParameters(JsonDocument.Parse(json).RootElement.EnumerateObject().ToDictionary(p => p.Name, p => p.Value.Clone())));

    private static ChatRequest Request(string json, params ChatTool[] tools) => new(
        [new ChatMessage(ChatRole.User, [ChatPart.FromText("hi")], [])], tools, Options(json),
        new ProviderCredential(1, new Dictionary<string, string> { ["key"] = "k" }));

    private static JsonElement Json<T>(T body, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> type) => JsonSerializer.SerializeToElement(body, type);

    [Fact]
    public void From_ReadsEveryKnownKeyOnce()
    {
        var o = Options("""
            {"model.name":"m","model.temperature":"0.2","model.top_p":0.9,"model.top_k":"40","model.max_tokens":"100",
             "model.stop":"END,STOP","model.seed":7,"model.user":"u1","model.reasoning_effort":"low","model.service_tier":"flex",
             "model.top_logprobs":2,"model.metadata":"{\"team\":\"a\"}","model.frequency_penalty":0.1,"model.presence_penalty":-0.1,
             "model.response_format":{"type":"json_object"},"model.tool_choice":"REQUIRED","model.thinking":{"type":"enabled","budget_tokens":1024},
             "model.vendor_only":"x"}
            """);
        Assert.Equal(("m", 0.2, 0.9, 40L, 100L), (o.ModelId, o.Temperature, o.TopP, o.TopK, o.MaxOutputTokens));
        Assert.Equal(["END", "STOP"], o.StopSequences);
        Assert.Equal((7L, "u1", "low", "flex", 2L), (o.Seed, o.User, o.ReasoningEffort, o.ServiceTier, o.TopLogprobs));
        Assert.Equal((0.1, -0.1), (o.FrequencyPenalty, o.PresencePenalty));
        Assert.Equal("a", o.Metadata!.Value.GetProperty("team").GetString());
        Assert.Equal("json_object", o.ResponseFormat!.Value.GetProperty("type").GetString());
        Assert.Equal(ChatToolMode.Required, o.ToolMode);
        Assert.Equal(new ChatThinking(true, 1024, null, null), o.Thinking);
        Assert.Equal("x", o.Extras.GetString("model.vendor_only")); // provider extras stay reachable
    }

    [Theory]
    [InlineData("""{"model.temperature":0.5}""", "modelParameters[\"model.name\"] is required")]
    [InlineData("""{"model.name":""}""", "modelParameters[\"model.name\"] is required")]
    [InlineData("""{"model.name":"m","model.tool_choice":"sometimes"}""", "modelParameters[\"model.tool_choice\"] must be auto, required or none")]
    [InlineData("""{"model.name":"m","model.user":{"id":1}}""", "modelParameters[\"model.user\"] must be a string")]
    [InlineData("""{"model.name":"m","model.top_k":2.5}""", "modelParameters[\"model.top_k\"] must be a whole number")]
    [InlineData("""{"model.name":"m","model.max_completion_tokens":10,"model.max_tokens":"lots"}""", "modelParameters[\"model.max_tokens\"] must be a number")]
    public void From_BadOrMissingValue_400NamingTheKey_WhateverTheProvider(string json, string message)
    {
        var error = Assert.Throws<ChatRequestException>(() => Options(json));
        Assert.Equal(message, error.Message);
    }

    [Fact]
    public void ToolChoice_RefusedOnceEvenWithoutTools() =>
        Assert.Throws<ChatRequestException>(() => Request("""{"model.name":"m","model.tool_choice":"sometimes"}"""));

    [Theory]
    [InlineData("""{"model.name":"m","model.max_completion_tokens":300,"model.max_tokens":200}""", 300)]
    [InlineData("""{"model.name":"m","model.max_tokens":200}""", 200)]
    [InlineData("""{"model.name":"m","model.max_completion_tokens":"300"}""", 300)]
    public void MaxTokens_FirstOfMaxCompletionTokensThenMaxTokens_ForEveryProvider(string json, long expected)
    {
        var r = Request(json);
        Assert.Equal(expected, OpenAIChatWire.ToChatRequest(r).MaxCompletionTokens);
        Assert.Equal(expected, OpenAIChatWire.ToChatRequest(r, OpenAIDialect.Mistral).MaxTokens);
        Assert.Equal(expected, AnthropicWire.ToMessagesRequest(r, defaultMaxTokens: 4096).MaxTokens);
        Assert.Equal(expected, GoogleWire.ToGenerateContentRequest(r).GenerationConfig!.MaxOutputTokens);
        Assert.Equal(expected, CohereWire.ToChatRequest(Request(json)).MaxTokens);
        Assert.Equal(expected, ReplicateWire.ToCreateRequest(Request(json.Replace("\"m\"", "\"meta/llama\"")), out _).Input.MaxTokens);
    }

    [Fact]
    public void ToolMode_EachProvidersSpelling_OnlyWithTools()
    {
        var tool = new ChatTool("f", "", JsonDocument.Parse("""{"type":"object","properties":{}}""").RootElement.Clone());
        var required = Request("""{"model.name":"m","model.tool_choice":"required"}""", tool);
        Assert.Equal("required", OpenAIChatWire.ToChatRequest(required).ToolChoice);
        Assert.Equal("any", AnthropicWire.ToMessagesRequest(required, 1).ToolChoice!.Type);
        Assert.Equal("ANY", GoogleWire.ToGenerateContentRequest(required).ToolConfig!.FunctionCallingConfig.Mode);
        Assert.Equal("REQUIRED", CohereWire.ToChatRequest(required).ToolChoice);
        Assert.Null(CohereWire.ToChatRequest(Request("""{"model.name":"m","model.tool_choice":"auto"}""", tool)).ToolChoice); // Cohere's default

        var noTools = Request("""{"model.name":"m","model.tool_choice":"none"}""");
        Assert.Null(OpenAIChatWire.ToChatRequest(noTools).ToolChoice);
        Assert.Null(AnthropicWire.ToMessagesRequest(noTools, 1).ToolChoice);
        Assert.Null(GoogleWire.ToGenerateContentRequest(noTools).ToolConfig);
        Assert.Null(CohereWire.ToChatRequest(noTools).ToolChoice);
    }

    [Fact]
    public void Thinking_AnthropicAndGoogleShapes()
    {
        var google = Request("""{"model.name":"m","model.thinking":{"include_thoughts":true,"thinking_budget":-1}}""");
        Assert.Equal(new GoogleThinkingConfig(true, -1), GoogleWire.ToGenerateContentRequest(google).GenerationConfig!.ThinkingConfig);
        Assert.Null(AnthropicWire.ToMessagesRequest(google, 1).Thinking); // not enabled in Anthropic's shape

        var anthropic = Request("""{"model.name":"m","model.thinking":{"enabled":true,"budget_tokens":2048}}""");
        Assert.Equal(new AnthropicThinking("enabled", 2048), AnthropicWire.ToMessagesRequest(anthropic, 1).Thinking);
        Assert.Null(GoogleWire.ToGenerateContentRequest(anthropic).GenerationConfig!.ThinkingConfig);
    }

    [Theory]
    [InlineData("""{"enabled":true}""")]
    [InlineData("""{"enabled":true,"budget_tokens":0}""")]
    [InlineData("""{"type":"enabled","budget_tokens":"2048"}""")] // a string used to be an InvalidOperationException (500)
    public void AnthropicThinking_EnabledWithoutAPositiveBudget_400(string thinking)
    {
        var request = Request($$"""{"model.name":"m","model.thinking":{{thinking}}}""");
        var error = Assert.Throws<ChatRequestException>(() => AnthropicWire.ToMessagesRequest(request, 1));
        Assert.Contains("modelParameters[\"model.thinking\"].budget_tokens", error.Message);
    }

    [Fact]
    public void GoogleResponseFormat_MimeTypeNotAString_400()
    {
        var request = Request("""{"model.name":"m","model.response_format":{"response_mime_type":1}}""");
        var error = Assert.Throws<ChatRequestException>(() => GoogleWire.ToGenerateContentRequest(request));
        Assert.Contains("modelParameters[\"model.response_format\"]", error.Message);
    }

    [Fact]
    public void Edge_ParsesToolSchemasAndCallArgumentsOnce_ProvidersSendThem()
    {
        var proto = TestRequests.NewChat("anthropic", "weather?");
        proto.ToolDefinitions.Add(ProtoMutator.DeepTool(1));
        var call = new ToolCall { Id = "call_1", Type = "function", Function = new FunctionCall { Name = "get_weather", Arguments = """{"city":"Paris"}""" } };
        proto.Conversations.Add(new Message { Role = "assistant", ToolCalls = { call, new ToolCall { Id = "call_2", Function = new FunctionCall { Name = "noop" } } } });
        proto.ModelParameters["model.top_k"] = TestRequests.Param(Value.ForString("3"));

        var request = ProtoMapping.ToChatRequest(proto);

        var schema = request.Tools[0].Parameters;
        Assert.Equal("object", schema.GetProperty("type").GetString());
        Assert.Equal("array", schema.GetProperty("properties").GetProperty("p").GetProperty("type").GetString());
        var calls = request.Messages[1].ToolCalls;
        Assert.Equal("Paris", calls[0].ParsedArguments!.Value.GetProperty("city").GetString());
        Assert.Equal(("{}", JsonValueKind.Object), (calls[1].Arguments, calls[1].ParsedArguments!.Value.ValueKind)); // empty means {}
        Assert.Equal(3L, request.Options.TopK);

        var anthropic = Json(AnthropicWire.ToMessagesRequest(request, 1), AnthropicJsonContext.Default.AnthropicRequest);
        Assert.Equal("Paris", anthropic.GetProperty("messages")[1].GetProperty("content")[0].GetProperty("input").GetProperty("city").GetString());
        Assert.Equal("array", anthropic.GetProperty("tools")[0].GetProperty("input_schema").GetProperty("properties").GetProperty("p").GetProperty("type").GetString());
        var openAI = Json(OpenAIChatWire.ToChatRequest(request), OpenAIJsonContext.Default.OpenAIChatRequest);
        Assert.Equal("""{"city":"Paris"}""", openAI.GetProperty("messages")[1].GetProperty("tool_calls")[0].GetProperty("function").GetProperty("arguments").GetString());
        var google = Json(GoogleWire.ToGenerateContentRequest(request), GoogleJsonContext.Default.GoogleRequest);
        var declaration = google.GetProperty("tools")[0].GetProperty("functionDeclarations")[0].GetProperty("parameters");
        Assert.Equal("OBJECT", declaration.GetProperty("type").GetString()); // the API's upper-case type names
        Assert.Equal("ARRAY", declaration.GetProperty("properties").GetProperty("p").GetProperty("type").GetString());
        Assert.Equal("OBJECT", declaration.GetProperty("properties").GetProperty("p").GetProperty("items").GetProperty("type").GetString());
        Assert.Equal("Paris", google.GetProperty("contents")[1].GetProperty("parts")[0].GetProperty("functionCall").GetProperty("args").GetProperty("city").GetString());
        Assert.Equal(3, google.GetProperty("generationConfig").GetProperty("topK").GetInt32());
        Assert.Equal("object", request.Tools[0].Parameters.GetProperty("type").GetString()); // the shared schema is not changed by Google's spelling
    }
}
