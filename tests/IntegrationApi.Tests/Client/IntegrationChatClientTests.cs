using IntegrationApi.Client;
using IntegrationApi.Testing;
using IntegrationApi.Tests.Infrastructure;
using Microsoft.Extensions.AI;

namespace IntegrationApi.Tests.Client;

/// <summary>The Microsoft.Extensions.AI <see cref="IChatClient"/> over the service: streaming, usage, tool calls, errors.</summary>
public sealed class IntegrationChatClientTests
{
    private static IChatClient NewChatClient(TestGateway gateway, IntegrationClient client, string key = "test-key") =>
        new IntegrationChatClient(client, "openai", new Dictionary<string, string> { ["key"] = key }, "gpt-4o-mini");

    private static IntegrationClient NewClient(TestGateway gateway) =>
        new(gateway.Channel, new IntegrationClientOptions { Headers = () => TestGateway.AuthHeaders() });

    [Fact]
    public async Task Streaming_TextUsageAndFinishReason()
    {
        await using var gateway = await TestGateway.StartAsync();
        gateway.OpenAI.DefaultScript = new FakeScript { TextChunks = ["Hel", "lo"], InputTokens = 5, OutputTokens = 2 };
        await using var client = NewClient(gateway);
        using var chat = NewChatClient(gateway, client);

        var updates = new List<ChatResponseUpdate>();
        await foreach (var u in chat.GetStreamingResponseAsync([new ChatMessage(ChatRole.System, "Be brief."), new ChatMessage(ChatRole.User, "hi")], new ChatOptions { Temperature = 0.2f }))
            updates.Add(u);
        var response = updates.ToChatResponse();

        Assert.Equal(["Hel", "lo"], updates.Take(2).Select(u => u.Text));
        Assert.Equal("Hello", response.Text);
        Assert.Equal(ChatFinishReason.Stop, response.FinishReason);
        Assert.Equal((5L, 2L, 7L), (response.Usage!.InputTokenCount, response.Usage.OutputTokenCount, response.Usage.TotalTokenCount));
        var sent = gateway.OpenAI.Requests[0].Json!.Value;
        Assert.Equal("system", sent.GetProperty("messages")[0].GetProperty("role").GetString());
        Assert.Equal(0.2, sent.GetProperty("temperature").GetDouble(), 3);
    }

    [Fact]
    public async Task FunctionInvocation_ToolCallAndResultRoundTrip()
    {
        await using var gateway = await TestGateway.StartAsync();
        gateway.OpenAI.DefaultScript = new FakeScript { TextChunks = [], ToolCalls = [new FakeToolCall("call_1", "get_weather", "{\"city\":", "\"Paris\"}")] };
        gateway.OpenAI.On("\"role\":\"tool\"", new FakeScript { TextChunks = ["It is 18 degrees in Paris."] });
        await using var client = NewClient(gateway);
        using var chat = new ChatClientBuilder(NewChatClient(gateway, client)).UseFunctionInvocation().Build();
        var calledWith = "";
        var tool = AIFunctionFactory.Create((string city) => { calledWith = city; return "{\"temp_c\":18}"; }, "get_weather", "Current weather for a city");

        var response = await chat.GetResponseAsync("Weather in Paris?", new ChatOptions { Tools = [tool] });

        Assert.Equal("Paris", calledWith);
        Assert.Equal("It is 18 degrees in Paris.", response.Text);
        var second = gateway.OpenAI.Requests[1].Json!.Value.GetProperty("messages");
        Assert.Equal("call_1", second[1].GetProperty("tool_calls")[0].GetProperty("id").GetString());
        Assert.Equal("call_1", second[2].GetProperty("tool_call_id").GetString());
        Assert.Contains("18", second[2].GetProperty("content").GetString());
        var declared = gateway.OpenAI.Requests[0].Json!.Value.GetProperty("tools")[0].GetProperty("function");
        Assert.Equal("string", declared.GetProperty("parameters").GetProperty("properties").GetProperty("city").GetProperty("type").GetString());
    }

    [Fact]
    public async Task ProviderFailure_ThrowsWithTheContractCode()
    {
        await using var gateway = await TestGateway.StartAsync();
        await using var client = NewClient(gateway);
        using var chat = NewChatClient(gateway, client, key: "wrong");
        var error = await Assert.ThrowsAsync<IntegrationRequestException>(() => chat.GetResponseAsync("hi"));
        Assert.Equal(401, error.Code);
    }
}
