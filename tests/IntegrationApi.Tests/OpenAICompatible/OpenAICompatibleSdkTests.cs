using System.ClientModel;
using System.Text;
using IntegrationApi.Testing;
using IntegrationApi.Tests.Infrastructure;
using OpenAI.Chat;
using static IntegrationApi.Tests.OpenAICompatible.OpenAICompatibleClient;

namespace IntegrationApi.Tests.OpenAICompatible;

/// <summary>The official OpenAI .NET SDK, pointed at the service, through each of the eight providers' fakes.</summary>
public sealed class OpenAICompatibleSdkTests
{
    public static IEnumerable<object[]> Providers => TestRequests.ProviderCases;
    public static IEnumerable<object[]> ToolProviders => TestRequests.ToolProviderCases;

    private static readonly ChatTool Weather = ChatTool.CreateFunctionTool("get_weather", "Current weather for a city",
        BinaryData.FromString("""{"type":"object","properties":{"city":{"type":"string"},"unit":{"type":"object","properties":{"celsius":{"type":"boolean"}}}},"required":["city"]}"""));

    [Theory, MemberData(nameof(Providers))]
    public async Task StreamingText_SdkReadsTextUsageAndFinishReason(string provider)
    {
        await using var gateway = await TestGateway.StartAsync();
        gateway.Fake(provider).DefaultScript = new FakeScript { TextChunks = ["Hel", "lo ", "there"], InputTokens = 11, OutputTokens = 5 };
        var text = new StringBuilder();
        ChatTokenUsage? usage = null;
        ChatFinishReason? finish = null;
        var updates = 0;

        await foreach (var update in Sdk(gateway, provider).CompleteChatStreamingAsync([new UserChatMessage("hi")]).WithCancellation(new CancellationTokenSource(TaskTimeoutExtensions.Limit).Token))
        {
            updates++;
            foreach (var part in update.ContentUpdate) text.Append(part.Text);
            usage ??= update.Usage;
            finish ??= update.FinishReason;
        }

        Assert.Equal("Hello there", text.ToString());
        Assert.True(updates >= 3, $"{updates} updates: the text was not streamed");
        Assert.Equal(ChatFinishReason.Stop, finish);
        Assert.NotNull(usage);
        Assert.Equal(11, usage.InputTokenCount);
        Assert.Equal(5, usage.OutputTokenCount);
        Assert.Equal(16, usage.TotalTokenCount);
        if (provider != "vertexai") Assert.Equal("test-key", TestRequests.SentKey(provider, gateway.Fake(provider).Requests[^1])); // Vertex sends an OAuth token
    }

    [Theory, MemberData(nameof(Providers))]
    public async Task NonStreaming_SdkReadsAnswerUsageAndModel(string provider)
    {
        await using var gateway = await TestGateway.StartAsync();
        gateway.Fake(provider).DefaultScript = new FakeScript { TextChunks = ["Bonjour", " !"], InputTokens = 4, OutputTokens = 2 };

        ChatCompletion completion = await Sdk(gateway, provider).CompleteChatAsync(
            [new SystemChatMessage("Answer in French."), new UserChatMessage("hello")],
            new ChatCompletionOptions { Temperature = 0.25f, MaxOutputTokenCount = 50 }).DefaultTimeout();

        Assert.Equal("Bonjour !", completion.Content[0].Text);
        Assert.Equal(ChatFinishReason.Stop, completion.FinishReason);
        Assert.Equal(provider + "/" + TestProviders.Get(provider).DefaultModel, completion.Model);
        Assert.Equal((4, 2, 6), (completion.Usage.InputTokenCount, completion.Usage.OutputTokenCount, completion.Usage.TotalTokenCount));
        Assert.StartsWith("chatcmpl-", completion.Id);
        // The parameters reached the provider in its own format.
        var sent = gateway.Fake(provider).Requests[^1].Body;
        Assert.Contains("0.25", sent, StringComparison.Ordinal);
        Assert.Contains("50", sent, StringComparison.Ordinal);
    }

    [Theory, MemberData(nameof(ToolProviders))]
    public async Task StreamedToolCall_SdkAssemblesIdNameAndArguments(string provider)
    {
        await using var gateway = await TestGateway.StartAsync();
        gateway.Fake(provider).DefaultScript = new FakeScript
        {
            TextChunks = ["Checking."],
            ToolCalls = [new FakeToolCall("call_paris", "get_weather", "{\"ci", "ty\":\"Paris\"}")],
        };
        var text = new StringBuilder();
        var ids = new Dictionary<int, string>();
        var names = new Dictionary<int, string>();
        var args = new Dictionary<int, StringBuilder>();
        ChatFinishReason? finish = null;

        var options = new ChatCompletionOptions { Tools = { Weather }, ToolChoice = ChatToolChoice.CreateAutoChoice() };
        await foreach (var update in Sdk(gateway, provider).CompleteChatStreamingAsync([new UserChatMessage("weather in Paris?")], options))
        {
            foreach (var part in update.ContentUpdate) text.Append(part.Text);
            foreach (var call in update.ToolCallUpdates)
            {
                if (call.ToolCallId is { } id) ids[call.Index] = id;
                if (call.FunctionName is { } name) names[call.Index] = name;
                if (!args.TryGetValue(call.Index, out var sb)) args[call.Index] = sb = new StringBuilder();
                sb.Append(call.FunctionArgumentsUpdate?.ToString());
            }
            finish ??= update.FinishReason;
        }

        Assert.Equal("Checking.", text.ToString());
        Assert.Equal(ChatFinishReason.ToolCalls, finish);
        Assert.Single(ids);
        if (provider is not ("gemini" or "vertexai")) Assert.Equal("call_paris", ids[0]); // Google sends no ids: the service makes them
        Assert.Equal("get_weather", names[0]);
        Assert.Equal("Paris", System.Text.Json.JsonDocument.Parse(args[0].ToString()).RootElement.GetProperty("city").GetString());
        // The tool's full JSON schema reached the provider, nested object included.
        Assert.Contains("celsius", gateway.Fake(provider).Requests[^1].Body, StringComparison.Ordinal);
    }

    [Theory, MemberData(nameof(ToolProviders))]
    public async Task ToolResult_RoundTrip_ReachesTheProvider(string provider)
    {
        await using var gateway = await TestGateway.StartAsync();
        gateway.Fake(provider).DefaultScript = new FakeScript { TextChunks = ["It is sunny."] };
        var assistant = new AssistantChatMessage([ChatToolCall.CreateFunctionToolCall("call_1", "get_weather", BinaryData.FromString("{\"city\":\"Paris\"}"))]);

        ChatCompletion completion = await Sdk(gateway, provider).CompleteChatAsync(
            [new UserChatMessage("weather in Paris?"), assistant, new ToolChatMessage("call_1", "sunny, 24C")],
            new ChatCompletionOptions { Tools = { Weather } }).DefaultTimeout();

        Assert.Equal("It is sunny.", completion.Content[0].Text);
        Assert.Contains("sunny, 24C", gateway.Fake(provider).Requests[^1].Body, StringComparison.Ordinal);
    }

    [Theory, MemberData(nameof(Providers))]
    public async Task ProviderRejectsCredential_SdkThrowsWith401(string provider)
    {
        await using var gateway = await TestGateway.StartAsync();
        var client = Sdk(gateway, provider, key: "wrong-key");

        var unary = await Assert.ThrowsAsync<ClientResultException>(() => client.CompleteChatAsync([new UserChatMessage("hi")])).DefaultTimeout();
        var streamed = await Assert.ThrowsAsync<ClientResultException>(async () =>
        {
            await foreach (var _ in client.CompleteChatStreamingAsync([new UserChatMessage("hi")])) { }
        }).DefaultTimeout();

        Assert.Equal(401, unary.Status);
        Assert.Equal(401, streamed.Status);
        Assert.Contains("authentication_error", unary.GetRawResponse()!.Content.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain("wrong-key", unary.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Models_SdkListsTheConfiguredModels()
    {
        await using var gateway = await TestGateway.StartAsync(new Dictionary<string, string?> { ["OpenAICompatible:Models:0"] = "mistral/mistral-small-latest" });
        var client = new OpenAI.Models.OpenAIModelClient(new System.ClientModel.ApiKeyCredential(TestGateway.ApiKey),
            new OpenAI.OpenAIClientOptions { Endpoint = new Uri(gateway.OpenAIAddress + "/v1") });

        var models = (await client.GetModelsAsync().DefaultTimeout()).Value;

        Assert.Equal(["mistral/mistral-small-latest"], models.Select(m => m.Id));
        Assert.Equal("mistral", models[0].OwnedBy);
    }
}
