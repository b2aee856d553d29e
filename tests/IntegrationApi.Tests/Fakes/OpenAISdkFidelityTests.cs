using System.ClientModel;
using System.ClientModel.Primitives;
using System.Text;
using IntegrationApi.Testing;
using OpenAI;
using OpenAI.Chat;

namespace IntegrationApi.Tests.Fakes;

/// <summary>The official OpenAI .NET SDK, pointed at the fake, reads the same text, tool calls and usage: the fake speaks the real format.</summary>
public sealed class OpenAISdkFidelityTests : IAsyncLifetime
{
    private OpenAIFake _fake = null!;

    public async Task InitializeAsync() => _fake = await OpenAIFake.StartNewAsync();

    public async Task DisposeAsync() => await _fake.DisposeAsync();

    private ChatClient Client(string key = "test-key") => new("gpt-4o-mini", new ApiKeyCredential(key), new OpenAIClientOptions
    {
        Endpoint = new Uri(_fake.BaseUrl),
        RetryPolicy = new ClientRetryPolicy(maxRetries: 0),
    });

    private static readonly FakeScript Script = new()
    {
        TextChunks = ["Let me ", "check."],
        ToolCalls = [new FakeToolCall("call_1", "get_weather", "{\"city\":", "\"Paris\"}"), new FakeToolCall("call_2", "get_time", "{}")],
        InputTokens = 48, OutputTokens = 19, CachedInputTokens = 6, ReasoningTokens = 3,
    };

    [Fact]
    public async Task Streaming_SdkReadsTextToolCallsUsageAndFinishReason()
    {
        _fake.DefaultScript = Script;
        var text = new StringBuilder();
        var args = new Dictionary<int, StringBuilder>();
        var ids = new Dictionary<int, string>();
        var names = new Dictionary<int, string>();
        ChatTokenUsage? usage = null;
        ChatFinishReason? finish = null;

        await foreach (var update in Client().CompleteChatStreamingAsync([new UserChatMessage("weather?")]))
        {
            foreach (var part in update.ContentUpdate) text.Append(part.Text);
            foreach (var call in update.ToolCallUpdates)
            {
                if (call.ToolCallId is { } id) ids[call.Index] = id;
                if (call.FunctionName is { } name) names[call.Index] = name;
                if (!args.TryGetValue(call.Index, out var sb)) args[call.Index] = sb = new StringBuilder();
                sb.Append(call.FunctionArgumentsUpdate?.ToString());
            }
            usage ??= update.Usage;
            finish ??= update.FinishReason;
        }

        Assert.Equal("Let me check.", text.ToString());
        Assert.Equal(["call_1", "call_2"], ids.OrderBy(kv => kv.Key).Select(kv => kv.Value));
        Assert.Equal(["get_weather", "get_time"], names.OrderBy(kv => kv.Key).Select(kv => kv.Value));
        Assert.Equal("{\"city\":\"Paris\"}", args[0].ToString());
        Assert.Equal("{}", args[1].ToString());
        Assert.Equal(ChatFinishReason.ToolCalls, finish);
        Assert.NotNull(usage);
        Assert.Equal(48, usage.InputTokenCount);
        Assert.Equal(19, usage.OutputTokenCount);
        Assert.Equal(67, usage.TotalTokenCount);
        Assert.Equal(6, usage.InputTokenDetails.CachedTokenCount);
        Assert.Equal(3, usage.OutputTokenDetails.ReasoningTokenCount);
        // The SDK always asks for usage in streams; the fake honoured it.
        Assert.True(_fake.Requests[0].Json!.Value.GetProperty("stream_options").GetProperty("include_usage").GetBoolean());
    }

    [Fact]
    public async Task NonStreaming_SdkReadsTheCompletion()
    {
        _fake.DefaultScript = Script;
        ChatCompletion completion = await Client().CompleteChatAsync([new UserChatMessage("weather?")]);
        Assert.Equal("Let me check.", completion.Content[0].Text);
        Assert.Equal(2, completion.ToolCalls.Count);
        Assert.Equal("call_1", completion.ToolCalls[0].Id);
        Assert.Equal("{\"city\":\"Paris\"}", completion.ToolCalls[0].FunctionArguments.ToString());
        Assert.Equal(ChatFinishReason.ToolCalls, completion.FinishReason);
        Assert.Equal(48, completion.Usage.InputTokenCount);
        Assert.Equal(19, completion.Usage.OutputTokenCount);
    }

    [Theory]
    [InlineData(401, null)]
    [InlineData(429, "rate_limit_exceeded")]
    [InlineData(500, null)]
    public async Task HttpErrors_SdkSeesStatusAndMessage(int status, string? code)
    {
        _fake.DefaultScript = FakeScript.Error(status, code, message: "scripted failure");
        var error = await Assert.ThrowsAsync<ClientResultException>(() => Client().CompleteChatAsync([new UserChatMessage("x")]));
        Assert.Equal(status, error.Status);
        Assert.Contains("scripted failure", error.Message);
    }

    [Fact]
    public async Task WrongKey_Sdk401()
    {
        var error = await Assert.ThrowsAsync<ClientResultException>(() => Client("nope").CompleteChatAsync([new UserChatMessage("x")]));
        Assert.Equal(401, error.Status);
        Assert.Contains("Incorrect API key", error.Message);
    }
}
