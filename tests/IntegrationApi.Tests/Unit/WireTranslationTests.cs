using System.Net;
using System.Text;
using System.Text.Json;
using IntegrationApi.Chat;
using IntegrationApi.Providers;
using IntegrationApi.Providers.Anthropic;
using IntegrationApi.Providers.OpenAICompatible;
using IntegrationApi.Providers.Sse;

namespace IntegrationApi.Tests.Unit;

/// <summary>Request translation of the model.* parameters and stream decoding edge cases.</summary>
public sealed class WireTranslationTests
{
    private static ChatRequest Request(string parametersJson, params ChatMessage[] messages) => new(
        messages.Length > 0 ? messages : [new ChatMessage(ChatRole.User, [ChatPart.FromText("hi")], [])],
        [],
        ChatOptions.From(new ModelParameters(JsonDocument.Parse(parametersJson).RootElement.EnumerateObject().ToDictionary(p => p.Name, p => p.Value.Clone()))),
        new ProviderCredential(1, new Dictionary<string, string> { ["key"] = "k" }));

    [Fact]
    public void OpenAI_ModelParameters_MapToChatCompletionsFields()
    {
        var body = JsonSerializer.SerializeToElement(OpenAIChatWire.ToChatRequest(Request("""
            {"model.name":"gpt-4o","model.temperature":"0.2","model.top_p":0.9,"model.max_completion_tokens":"256",
             "model.stop":"END,STOP","model.seed":7,"model.user":"u1","model.reasoning_effort":"low","model.service_tier":"default",
             "model.top_logprobs":2,"model.metadata":"{\"team\":\"a\"}","model.frequency_penalty":0.1,"model.presence_penalty":-0.1,
             "model.response_format":{"type":"json_object"}}
            """)), OpenAIJsonContext.Default.OpenAIChatRequest);

        Assert.Equal("gpt-4o", body.GetProperty("model").GetString());
        Assert.Equal(0.2, body.GetProperty("temperature").GetDouble());
        Assert.Equal(0.9, body.GetProperty("top_p").GetDouble());
        Assert.Equal(256, body.GetProperty("max_completion_tokens").GetInt32());
        Assert.False(body.TryGetProperty("max_tokens", out _));
        Assert.Equal(["END", "STOP"], body.GetProperty("stop").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(7, body.GetProperty("seed").GetInt32());
        Assert.Equal("u1", body.GetProperty("user").GetString());
        Assert.Equal("low", body.GetProperty("reasoning_effort").GetString());
        Assert.True(body.GetProperty("logprobs").GetBoolean());
        Assert.Equal(2, body.GetProperty("top_logprobs").GetInt32());
        Assert.Equal("a", body.GetProperty("metadata").GetProperty("team").GetString());
        Assert.Equal("json_object", body.GetProperty("response_format").GetProperty("type").GetString());
        Assert.True(body.GetProperty("stream").GetBoolean());
        Assert.True(body.GetProperty("stream_options").GetProperty("include_usage").GetBoolean());
        Assert.False(body.TryGetProperty("tools", out _));
        Assert.False(body.TryGetProperty("tool_choice", out _)); // only sent with tools
    }

    [Fact]
    public void OpenAI_ImagesByUrl_BecomeContentParts()
    {
        var body = JsonSerializer.SerializeToElement(OpenAIChatWire.ToChatRequest(Request("""{"model.name":"gpt-4o"}""",
            new ChatMessage(ChatRole.User, [ChatPart.FromText("what is this?"), new ChatPart(ChatPartKind.ImageUrl, "https://x/cat.png")], []))),
            OpenAIJsonContext.Default.OpenAIChatRequest);
        var content = body.GetProperty("messages")[0].GetProperty("content");
        Assert.Equal("text", content[0].GetProperty("type").GetString());
        Assert.Equal("image_url", content[1].GetProperty("type").GetString());
        Assert.Equal("https://x/cat.png", content[1].GetProperty("image_url").GetProperty("url").GetString());
    }

    [Theory]
    [InlineData("""{"model.name":"m","model.tool_choice":"sometimes"}""", "model.tool_choice")]
    [InlineData("""{"model.name":"m","model.response_format":{"type":"yaml"}}""", "model.response_format")]
    public void OpenAI_UnknownParameterValues_400(string parameters, string key)
    {
        // tool_choice is refused where the options are read, response_format's type by the OpenAI dialect.
        var tools = new[] { new ChatTool("f", "", JsonDocument.Parse("""{"type":"object","properties":{}}""").RootElement.Clone()) };
        var error = Assert.Throws<ChatRequestException>(() => OpenAIChatWire.ToChatRequest(Request(parameters) with { Tools = tools }));
        Assert.Contains(key, error.Message);
    }

    [Fact]
    public void Anthropic_SystemThinkingStopAndDefaults()
    {
        var body = JsonSerializer.SerializeToElement(AnthropicWire.ToMessagesRequest(Request("""
            {"model.name":"claude-sonnet-4-5","model.thinking":"{\"enabled\":true,\"budget_tokens\":2048}","model.stop":"END","model.top_k":"40"}
            """,
            new ChatMessage(ChatRole.System, [ChatPart.FromText("Be terse.")], []),
            new ChatMessage(ChatRole.User, [ChatPart.FromText("a")], []),
            new ChatMessage(ChatRole.User, [ChatPart.FromText("b")], [])), defaultMaxTokens: 4096), AnthropicJsonContext.Default.AnthropicRequest);

        Assert.Equal("Be terse.", body.GetProperty("system")[0].GetProperty("text").GetString());
        Assert.Equal(4096, body.GetProperty("max_tokens").GetInt32());
        Assert.Equal("enabled", body.GetProperty("thinking").GetProperty("type").GetString());
        Assert.Equal(2048, body.GetProperty("thinking").GetProperty("budget_tokens").GetInt32());
        Assert.Equal("END", body.GetProperty("stop_sequences")[0].GetString());
        Assert.Equal(40, body.GetProperty("top_k").GetInt32());
        var messages = body.GetProperty("messages");
        Assert.Equal(1, messages.GetArrayLength()); // consecutive user turns merged
        Assert.Equal(2, messages[0].GetProperty("content").GetArrayLength());
    }

    [Fact]
    public void Anthropic_Usage_InputCountsCachedTokens_AndCacheWrites()
    {
        var usage = AnthropicWire.FromUsage(new AnthropicUsage { InputTokens = 10, CacheCreationInputTokens = 5, CacheReadInputTokens = 100, OutputTokens = 1 });
        Assert.Equal(new TokenUsage(Input: 115, Output: 1, CachedInput: 100, CacheWrite: 5), usage);
    }

    [Fact]
    public async Task Sse_CrlfFramesCommentsAndMultiLineData_Decoded()
    {
        const string body = ": keep-alive\r\n\r\ndata: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"a\"}}]}\r\n\r\n" +
                            "data: {\"choices\":[{\"index\":0,\r\ndata: \"delta\":{\"content\":\"b\"}}]}\r\n\r\ndata: [DONE]\r\n\r\n";
        using var response = new HttpResponseMessage(HttpStatusCode.OK) { Content = new StringContent(body, Encoding.UTF8, "text/event-stream") };
        var texts = new List<string>();
        var done = false;
        await foreach (var e in SseEvents.ReadAsync(response, OpenAIJsonContext.Default.OpenAIChunk, "[DONE]", CancellationToken.None))
        {
            if (e.IsDone) { done = true; break; }
            if (e.Data?.Choices?[0].Delta?.Content?.Text is { } t) texts.Add(t);
        }
        Assert.Equal(["a", "b"], texts);
        Assert.True(done);
    }

    [Fact]
    public void OpenAI_InBandErrors_MapToKinds()
    {
        Assert.Equal(ProviderErrorKind.UpstreamError, OpenAIChatWire.FromError(new OpenAIError { Type = "server_error", Message = "x" }, "openai", null).Kind);
        var quota = OpenAIChatWire.FromError(new OpenAIError { Type = "insufficient_quota", Code = JsonDocument.Parse("\"insufficient_quota\"").RootElement, Message = "x" }, "openai", null);
        Assert.Equal(ProviderErrorKind.RateLimited, quota.Kind);
        Assert.False(quota.IsTransient);
        var missing = OpenAIChatWire.FromError(new OpenAIError { Type = "invalid_request_error", Code = JsonDocument.Parse("\"model_not_found\"").RootElement, Message = "x" }, "openai", null);
        Assert.Equal(ProviderErrorKind.NotFound, missing.Kind);
    }
}
