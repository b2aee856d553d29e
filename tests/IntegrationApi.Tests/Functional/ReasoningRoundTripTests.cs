using System.Net.Http.Json;
using System.Text;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using IntegrationApi.Contracts.Common;
using IntegrationApi.Testing;
using IntegrationApi.Tests.Infrastructure;
using static IntegrationApi.Tests.Infrastructure.TestRequests;
using Proto = IntegrationApi.Contracts;

namespace IntegrationApi.Tests.Functional;

/// <summary>
/// Reasoning state that round-trips (docs/contract.md §8.1): a two-turn tool loop with reasoning on, end to end, against fakes
/// that refuse a turn without its state as the real APIs do; and the same loop moving between providers on LlmService.
/// </summary>
public sealed class ReasoningRoundTripTests
{
    public static IEnumerable<object[]> ReasoningProviders => [["anthropic"], ["gemini"], ["vertexai"], ["mistral"]];

    private static readonly FakeScript CallsTheTool = new()
    {
        ReasoningChunks = ["The user wants the weather;", " I should call get_weather."],
        TextChunks = [],
        ToolCalls = [new FakeToolCall("toolu_01A09q90qw90lq917835lq9", "get_weather", "{\"city\":", "\"Paris\"}")],
    };

    /// <summary>A request that has the provider reason: Anthropic extended thinking, a Gemini 3 model, a Magistral model.</summary>
    private static Proto.ChatRequest Reasoning(TestGateway gateway, string provider)
    {
        var request = gateway.NewChat(provider, "What is the weather in Paris?");
        request.ProviderName = provider;
        request.ToolDefinitions.Add(WeatherTool());
        request.ModelParameters["model.include_reasoning"] = Param(Value.ForBool(true));
        switch (provider)
        {
            case "anthropic":
                request.ModelParameters["model.thinking"] = Param(Value.ForStruct(new Struct { Fields = { ["type"] = Value.ForString("enabled"), ["budget_tokens"] = Value.ForNumber(1024) } }));
                break;
            case "gemini" or "vertexai":
                request.ModelParameters["model.name"] = Param(Value.ForString("gemini-3-pro-preview"));
                break;
            case "mistral":
                request.ModelParameters["model.name"] = Param(Value.ForString("magistral-medium-2509"));
                break;
        }
        return request;
    }

    private static Message ToolResult(string id, string json) =>
        new() { Role = "tool", Contents = { new Content { Name = "get_weather", ContentType = id, Content_ = ByteString.CopyFromUtf8(json) } } };

    [Theory, MemberData(nameof(ReasoningProviders))]
    public async Task Reasoning_TwoTurnToolLoop_StateGoesBack_AndTheProviderTakesIt(string provider)
    {
        await using var gateway = await TestGateway.StartAsync();
        var fake = gateway.Fake(provider);
        fake.Enqueue(CallsTheTool);
        fake.Enqueue(new FakeScript { ReasoningChunks = ["18°C is mild."], TextChunks = ["It is 18°C in Paris."] });
        var request = Reasoning(gateway, provider);
        using var stream = gateway.OpenStream(provider);

        await stream.SendAsync(request);
        var first = await stream.ReadUntilAsync(ChatStream.IsTerminal);

        Assert.True(first.Success, first.Describe());
        Assert.Equal("tool_calls", first.FinishReason);
        var reasoningDeltas = stream.Received.Where(r => !ChatStream.IsTerminal(r)).SelectMany(r => r.Data.Contents).Where(c => c.ContentType == "reasoning");
        Assert.Equal("The user wants the weather; I should call get_weather.", string.Concat(reasoningDeltas.Select(c => c.Content_.ToStringUtf8())));
        var state = first.Data.Contents.Where(c => c.ContentType == "reasoning").ToList();
        Assert.NotEmpty(state);
        Assert.All(state, c => Assert.Equal(provider, c.Meta.Fields["provider"].StringValue));
        if (provider is "anthropic" or "gemini" or "vertexai") Assert.Contains(state, c => c.Meta.Fields.ContainsKey("signature"));

        var call = Assert.Single(first.Data.ToolCalls);
        request.Conversations.Add(first.Data); // sent back unchanged
        request.Conversations.Add(ToolResult(call.Id, "{\"temp_c\":18}"));
        await stream.SendAsync(request);
        var second = await stream.ReadUntilAsync(r => ChatStream.IsTerminal(r) && r != first);

        Assert.True(second.Success, second.Describe());
        Assert.Equal("It is 18°C in Paris.", second.Text());
        var sent = fake.Requests[1].Body;
        switch (provider)
        {
            case "anthropic":
                Assert.Contains("\"type\":\"thinking\"", sent);
                Assert.Contains(AnthropicFake.SignatureFor("The user wants the weather; I should call get_weather."), sent);
                break;
            case "gemini" or "vertexai":
                Assert.Contains(GeminiFake.SignatureFor("get_weather"), sent);
                break;
            case "mistral":
                Assert.Contains("\"type\":\"thinking\"", sent);
                break;
        }
    }

    [Theory]
    [InlineData("anthropic", "Expected `thinking` or `redacted_thinking`, but found `tool_use`")]
    [InlineData("gemini", "Function call is missing a thought_signature in functionCall parts")]
    [InlineData("vertexai", "Function call is missing a thought_signature in functionCall parts")]
    public async Task Reasoning_TurnWithoutItsState_RefusedAsTheProviderDoes(string provider, string refusal)
    {
        await using var gateway = await TestGateway.StartAsync();
        var fake = gateway.Fake(provider);
        fake.Enqueue(CallsTheTool);
        var request = Reasoning(gateway, provider);
        var first = await gateway.ChatAsync(provider, request);
        Assert.True(first.Success, first.Describe());

        // A client that drops the signatures: Anthropic's thinking block, Gemini's function-call signature (its thoughts kept).
        var stripped = first.Data.Clone();
        foreach (var c in stripped.Contents.Where(c => c.ContentType == "reasoning" && (provider == "anthropic" || c.Meta.Fields["type"].StringValue == "functionCall")).ToList())
            stripped.Contents.Remove(c);
        request.Conversations.Add(stripped);
        request.Conversations.Add(ToolResult(stripped.ToolCalls[0].Id, "{\"temp_c\":18}"));
        var second = await gateway.ChatAsync(provider, request);

        Assert.False(second.Success);
        Assert.Equal(400, (int)second.Code);
        Assert.Contains(refusal, second.Error.ErrorMessage);
    }

    [Fact]
    public async Task Reasoning_ConversationMovesAcrossProviders_OnLlmService_EachGetsOnlyItsOwnState()
    {
        await using var gateway = await TestGateway.StartAsync();
        gateway.Fake("anthropic").Enqueue(CallsTheTool with { ToolCalls = [new FakeToolCall("toolu_01A09q90qw90lq917835lq9", "get_weather", "{\"city\":\"Paris\"}")] });
        gateway.Fake("gemini").Enqueue(CallsTheTool with { ToolCalls = [new FakeToolCall("", "get_weather", "{\"city\":\"Rome\"}")] });
        gateway.Fake("mistral").Enqueue(new FakeScript { ReasoningChunks = ["Both are known."], TextChunks = ["Paris 18°C, Rome 24°C."] });
        using var stream = gateway.OpenStream(provider: null);
        var conversation = new List<Message> { Message("user", "Weather in Paris and Rome?") };

        async Task<Proto.ChatResponse> Turn(string provider)
        {
            var request = Reasoning(gateway, provider);
            request.Conversations.Clear();
            request.Conversations.AddRange(conversation);
            await stream.SendAsync(request);
            var seen = stream.Received.Count(ChatStream.IsTerminal);
            var terminal = await stream.ReadUntilAsync(r => ChatStream.IsTerminal(r) && stream.Received.Count(ChatStream.IsTerminal) > seen);
            Assert.True(terminal.Success, provider + ": " + terminal.Describe());
            return terminal;
        }

        var claude = await Turn("anthropic");
        conversation.Add(claude.Data);
        conversation.Add(ToolResult(claude.Data.ToolCalls[0].Id, "{\"temp_c\":18}"));
        var gemini = await Turn("gemini");
        conversation.Add(gemini.Data);
        conversation.Add(ToolResult(gemini.Data.ToolCalls[0].Id, "{\"temp_c\":24}"));
        var mistral = await Turn("mistral");

        Assert.Equal("Paris 18°C, Rome 24°C.", mistral.Text());
        var toGemini = gateway.Fake("gemini").Requests[0].Body;
        Assert.DoesNotContain(AnthropicFake.SignatureFor("The user wants the weather; I should call get_weather."), toGemini);
        Assert.DoesNotContain("The user wants the weather", toGemini); // Anthropic's thinking text is not Gemini's
        Assert.Contains("skip_thought_signature_validator", toGemini); // Claude's call, which Gemini 3 did not make
        var toMistral = gateway.Fake("mistral").Requests[0].Body;
        Assert.DoesNotContain(GeminiFake.SignatureFor("get_weather"), toMistral);
        Assert.DoesNotContain("thoughtSignature", toMistral);
        Assert.DoesNotContain("signature", toMistral);
        Assert.DoesNotContain("toolu_01A09q90qw90lq917835lq9", toMistral); // adapted to Mistral's 9-character ids
    }

    /// <summary>The fakes refuse a turn without its state by themselves, whoever sends it (checked without the service).</summary>
    [Fact]
    public async Task Reasoning_FakesRefuseUnsignedTurns_LikeTheRealApis()
    {
        await using var gemini = await GeminiFake.StartNewAsync();
        await using var anthropic = await AnthropicFake.StartNewAsync();
        using var http = new HttpClient();

        using var g = new HttpRequestMessage(HttpMethod.Post, gemini.BaseUrl + "/models/gemini-3-pro-preview:generateContent")
        {
            Content = new StringContent("""
                {"contents":[{"role":"user","parts":[{"text":"weather?"}]},
                             {"role":"model","parts":[{"functionCall":{"name":"get_weather","args":{"city":"Paris"}}}]},
                             {"role":"user","parts":[{"functionResponse":{"name":"get_weather","response":{"temp_c":18}}}]}]}
                """, Encoding.UTF8, "application/json"),
        };
        g.Headers.Add("x-goog-api-key", gemini.ValidKey);
        using var gr = await http.SendAsync(g);
        Assert.Equal(400, (int)gr.StatusCode);
        Assert.Contains("position 2", await gr.Content.ReadAsStringAsync());

        using var a = new HttpRequestMessage(HttpMethod.Post, anthropic.BaseUrl + "/messages")
        {
            Content = new StringContent("""
                {"model":"claude-sonnet-4-5","max_tokens":2048,"thinking":{"type":"enabled","budget_tokens":1024},
                 "messages":[{"role":"user","content":"weather?"},
                             {"role":"assistant","content":[{"type":"tool_use","id":"toolu_1","name":"get_weather","input":{"city":"Paris"}}]},
                             {"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_1","content":"18"}]}]}
                """, Encoding.UTF8, "application/json"),
        };
        a.Headers.Add("x-api-key", anthropic.ValidKey);
        a.Headers.Add("anthropic-version", "2023-06-01");
        using var ar = await http.SendAsync(a);
        Assert.Equal(400, (int)ar.StatusCode);
        var refusal = await ar.Content.ReadAsStringAsync();
        Assert.True(refusal.Contains("messages.1.content.0.type: Expected `thinking` or `redacted_thinking`, but found `tool_use`", StringComparison.Ordinal), refusal);
    }
}
