using System.Text.Json;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using IntegrationApi.Chat;
using IntegrationApi.Contracts.Common;
using IntegrationApi.Testing;
using IntegrationApi.Tests.Infrastructure;
using Microsoft.AspNetCore.Http;
using static IntegrationApi.Tests.Infrastructure.TestRequests;
using Proto = IntegrationApi.Contracts;

namespace IntegrationApi.Tests.Functional;

/// <summary>Magistral's chunk-array content, reasoning on request, Mistral's tool-call ids (docs/contract.md §8).</summary>
public sealed class MistralReasoningTests
{
    private static readonly FakeScript Thinking = new()
    {
        ReasoningChunks = ["The user asks 2+2.", " That is 4."],
        TextChunks = ["The answer", " is 4."],
    };

    private static Proto.ChatRequest Magistral(TestGateway gateway, bool includeReasoning)
    {
        var request = gateway.NewChat("mistral", "What is 2+2?");
        request.ModelParameters["model.name"] = Param(Value.ForString("magistral-medium-2509"));
        if (includeReasoning) request.ModelParameters["model.include_reasoning"] = Param(Value.ForBool(true));
        return request;
    }

    [Fact]
    public async Task Reasoning_MagistralStream_ReasoningDeltasOnRequest_NeverMixedIntoText()
    {
        await using var gateway = await TestGateway.StartAsync();
        gateway.Fake("mistral").DefaultScript = Thinking;
        using var stream = gateway.OpenStream("mistral");

        await stream.SendAsync(Magistral(gateway, includeReasoning: true));
        var terminal = await stream.ReadUntilAsync(ChatStream.IsTerminal);

        Assert.True(terminal.Success, terminal.Describe());
        var deltas = stream.Received.Where(r => !ChatStream.IsTerminal(r)).SelectMany(r => r.Data.Contents).ToList();
        Assert.Equal("The user asks 2+2. That is 4.", string.Concat(deltas.Where(c => c.ContentType == "reasoning").Select(c => c.Content_.ToStringUtf8())));
        Assert.Equal("The answer is 4.", string.Concat(deltas.Where(c => c.ContentType == "text").Select(c => c.Content_.ToStringUtf8())));
        Assert.All(deltas, c => Assert.Contains(c.ContentType, new[] { "text", "reasoning" }));
        Assert.Equal("The answer is 4.", terminal.Text());
        Assert.Equal("text", terminal.Data.Contents[0].ContentType); // reasoning state comes after the text
        var reasoning = Assert.Single(terminal.Data.Contents, c => c.ContentType == "reasoning");
        Assert.Equal("The user asks 2+2. That is 4.", reasoning.Content_.ToStringUtf8());
        Assert.Equal("mistral", reasoning.Meta.Fields["provider"].StringValue);
    }

    [Fact]
    public async Task Reasoning_MagistralStream_WithoutTheParameter_NoReasoningDeltas()
    {
        await using var gateway = await TestGateway.StartAsync();
        gateway.Fake("mistral").DefaultScript = Thinking;
        using var stream = gateway.OpenStream("mistral");

        await stream.SendAsync(Magistral(gateway, includeReasoning: false));
        var terminal = await stream.ReadUntilAsync(ChatStream.IsTerminal);

        Assert.True(terminal.Success, terminal.Describe());
        Assert.All(stream.Received.Where(r => !ChatStream.IsTerminal(r)).SelectMany(r => r.Data.Contents), c => Assert.Equal("text", c.ContentType));
        Assert.Equal("The answer is 4.", stream.DeltaText());
        Assert.Equal("The answer is 4.", terminal.Text());
    }

    [Fact]
    public async Task Reasoning_MagistralUnary_Succeeds_WithReasoningState()
    {
        await using var gateway = await TestGateway.StartAsync();
        gateway.Fake("mistral").DefaultScript = Thinking;

        var response = await gateway.ChatAsync("mistral", Magistral(gateway, includeReasoning: true));

        Assert.True(response.Success, response.Describe());
        Assert.Equal("The answer is 4.", response.Text());
        Assert.Equal("The user asks 2+2. That is 4.", response.Data.Contents.Single(c => c.ContentType == "reasoning").Content_.ToStringUtf8());
    }

    [Fact]
    public async Task Reasoning_MistralToolCallWithEmptyId_GetsAnIdThatMistralTakesBack()
    {
        await using var gateway = await TestGateway.StartAsync();
        var fake = gateway.Fake("mistral");
        fake.Enqueue(new FakeScript { TextChunks = [], ToolCalls = [new FakeToolCall("", "get_weather", "{\"city\":\"Paris\"}")] });
        fake.Enqueue(new FakeScript { TextChunks = ["18°C in Paris."] });
        var request = gateway.NewChat("mistral", "weather in Paris?");
        request.ToolDefinitions.Add(WeatherTool());

        var first = await gateway.ChatAsync("mistral", request);

        Assert.True(first.Success, first.Describe());
        var call = Assert.Single(first.Data.ToolCalls);
        Assert.Matches("^[a-zA-Z0-9]{9}$", call.Id);
        request.Conversations.Add(first.Data);
        request.Conversations.Add(new Message { Role = "tool", Contents = { new Content { Name = "get_weather", ContentType = call.Id, Content_ = ByteString.CopyFromUtf8("{\"temp_c\":18}") } } });
        var second = await gateway.ChatAsync("mistral", request);
        Assert.True(second.Success, second.Describe());
        Assert.Equal(call.Id, fake.Requests[1].Json!.Value.GetProperty("messages")[2].GetProperty("tool_call_id").GetString());
    }

    [Fact]
    public async Task Reasoning_MagistralToolLoop_ThinkingGoesBack_AndOtherProvidersIdsAreAdapted()
    {
        await using var gateway = await TestGateway.StartAsync();
        var fake = gateway.Fake("mistral");
        fake.Enqueue(Thinking with { TextChunks = ["Let me look."], ToolCalls = [new FakeToolCall("D681PevKs", "get_weather", "{\"city\":\"Paris\"}")] });
        fake.Enqueue(new FakeScript { TextChunks = ["18°C."] });
        var request = Magistral(gateway, includeReasoning: true);
        request.ToolDefinitions.Add(WeatherTool());
        // An earlier turn served by another provider, with its ids and its own reasoning state.
        request.Conversations.Add(new Message
        {
            Role = "assistant",
            Contents =
            {
                new Content { ContentType = "reasoning", ContentFormat = "raw", Content_ = ByteString.CopyFromUtf8("claude thoughts"),
                    Meta = new Struct { Fields = { ["provider"] = Value.ForString("anthropic"), ["type"] = Value.ForString("thinking"), ["signature"] = Value.ForString("sig") } } },
            },
            ToolCalls = { new ToolCall { Id = "toolu_01NRLabsLyVHZPKxbKvkfSMn", Type = "function", Function = new FunctionCall { Name = "get_weather", Arguments = "{\"city\":\"Rome\"}" } } },
        });
        request.Conversations.Add(new Message { Role = "tool", Contents = { new Content { Name = "get_weather", ContentType = "toolu_01NRLabsLyVHZPKxbKvkfSMn", Content_ = ByteString.CopyFromUtf8("{\"temp_c\":24}") } } });
        request.Conversations.Add(Message("user", "And Paris?"));

        var first = await gateway.ChatAsync("mistral", request);
        Assert.True(first.Success, first.Describe());
        Assert.Equal("D681PevKs", Assert.Single(first.Data.ToolCalls).Id);
        request.Conversations.Add(first.Data);
        request.Conversations.Add(new Message { Role = "tool", Contents = { new Content { Name = "get_weather", ContentType = "D681PevKs", Content_ = ByteString.CopyFromUtf8("{\"temp_c\":18}") } } });
        var second = await gateway.ChatAsync("mistral", request);

        Assert.True(second.Success, second.Describe());
        var messages = fake.Requests[1].Json!.Value.GetProperty("messages");
        var adapted = ToolCallIds.ToNineAlphanumeric("toolu_01NRLabsLyVHZPKxbKvkfSMn");
        Assert.Equal(adapted, messages[1].GetProperty("tool_calls")[0].GetProperty("id").GetString());
        Assert.Equal(adapted, messages[2].GetProperty("tool_call_id").GetString());
        Assert.Equal(JsonValueKind.Null, messages[1].GetProperty("content").ValueKind); // Anthropic's thinking is not Mistral's
        var assistant = messages[4].GetProperty("content");
        Assert.Equal("thinking", assistant[0].GetProperty("type").GetString());
        Assert.Equal("The user asks 2+2. That is 4.", assistant[0].GetProperty("thinking")[0].GetProperty("text").GetString());
        Assert.Equal(("text", "Let me look."), (assistant[1].GetProperty("type").GetString(), assistant[1].GetProperty("text").GetString()));
        Assert.Equal("D681PevKs", messages[5].GetProperty("tool_call_id").GetString());
    }

    public static IEnumerable<object[]> JsonProviders => ProviderCases;

    /// <summary>A chunk that is valid JSON of the wrong shape: the error names the provider and the problem, never our types.</summary>
    [Theory, MemberData(nameof(JsonProviders))]
    public async Task Reasoning_ChunkOfUnexpectedShape_ErrorNamesTheProviderOnly(string provider)
    {
        await using var gateway = await TestGateway.StartAsync();
        gateway.AllowErrorLogs = true;
        const string wrong = "{\"type\":\"message_start\",\"index\":\"x\",\"choices\":7,\"candidates\":7,\"message\":7,\"delta\":7,\"usage\":7,\"id\":7,\"urls\":7,\"status\":7}";
        gateway.Fake(provider).Intercept = async context =>
        {
            if (context.Request.Method != "POST" || context.Request.Path.Value?.Contains("token", StringComparison.Ordinal) == true) return false;
            context.Response.StatusCode = provider == "replicate" ? 201 : 200;
            context.Response.ContentType = provider == "replicate" ? "application/json" : "text/event-stream";
            await context.Response.WriteAsync(provider == "replicate" ? wrong : $"event: message_start\ndata: {wrong}\n\n");
            return true;
        };

        var response = await gateway.ChatAsync(provider, gateway.NewChat(provider, "hi"));

        Assert.False(response.Success);
        Assert.Equal(502, (int)response.Code);
        Assert.Contains(provider, response.Error.ErrorMessage);
        Assert.DoesNotContain("IntegrationApi", response.Error.ErrorMessage);
        Assert.DoesNotContain("System.", response.Error.ErrorMessage);
        Assert.DoesNotContain("Dto", response.Error.ErrorMessage);
    }

    [Fact]
    public async Task Reasoning_StreamedThenConnectionCut_NotRetried_TheCallerNeverSeesItTwice()
    {
        await using var gateway = await TestGateway.StartAsync();
        var fake = gateway.Fake("mistral");
        var cut = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        // One thinking chunk; once the caller has it, the connection drops.
        fake.Enqueue(Thinking with { Fault = FakeFault.Cut, FaultAfterChunks = 1, FaultGate = cut.Task });
        fake.Enqueue(Thinking);                                                             // what a retry would get
        using var stream = gateway.OpenStream("mistral");

        await stream.SendAsync(Magistral(gateway, includeReasoning: true));
        await stream.ReadUntilAsync(r => r.Data?.Contents.Any(c => c.ContentType == "reasoning") == true);
        cut.SetResult();
        var terminal = await stream.ReadUntilAsync(ChatStream.IsTerminal);

        Assert.False(terminal.Success, terminal.Describe());
        Assert.Equal(502, terminal.Code);
        Assert.Single(fake.Requests);
        var reasoning = stream.Received.Where(r => !ChatStream.IsTerminal(r)).SelectMany(r => r.Data.Contents)
            .Where(c => c.ContentType == "reasoning").Select(c => c.Content_.ToStringUtf8());
        Assert.Equal("The user asks 2+2.", string.Concat(reasoning));
    }
}
