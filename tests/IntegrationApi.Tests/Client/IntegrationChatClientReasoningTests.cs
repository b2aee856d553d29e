using System.Text.Json;
using IntegrationApi.Client;
using IntegrationApi.Testing;
using IntegrationApi.Tests.Infrastructure;
using Microsoft.Extensions.AI;

namespace IntegrationApi.Tests.Client;

/// <summary>Reasoning and usage details through the Microsoft.Extensions.AI client (docs/contract.md §8).</summary>
public sealed class IntegrationChatClientReasoningTests
{
    [Fact]
    public async Task Reasoning_ThinkingToolLoop_ThroughIChatClient_StateSurvivesAndUsageDetailsMapped()
    {
        await using var gateway = await TestGateway.StartAsync();
        var fake = gateway.Anthropic;
        fake.Enqueue(new FakeScript
        {
            ReasoningChunks = ["Need the weather."], TextChunks = [],
            ToolCalls = [new FakeToolCall("toolu_01", "get_weather", "{\"city\":\"Paris\"}")],
        });
        fake.Enqueue(new FakeScript
        {
            ReasoningChunks = ["Mild."], TextChunks = ["18 degrees."], InputTokens = 120, CachedInputTokens = 100, CacheWriteTokens = 15,
        });
        await using var client = new IntegrationClient(gateway.Channel, new IntegrationClientOptions { Headers = () => TestGateway.AuthHeaders() });
        using var chat = new ChatClientBuilder(new IntegrationChatClient(client, "anthropic", new Dictionary<string, string> { ["key"] = "test-key" }, "claude-sonnet-4-5"))
            .UseFunctionInvocation().Build();
        var tool = AIFunctionFactory.Create((string city) => "{\"temp_c\":18}", "get_weather", "Current weather for a city");
        var options = new ChatOptions
        {
            Tools = [tool],
            AdditionalProperties = new()
            {
                ["model.thinking"] = JsonDocument.Parse("{\"type\":\"enabled\",\"budget_tokens\":1024}").RootElement,
                ["model.include_reasoning"] = true,
            },
        };

        var response = await chat.GetResponseAsync("Weather in Paris?", options);

        Assert.Equal("18 degrees.", response.Text); // the second turn passed the fake's thinking-block check
        var reasoning = response.Messages.SelectMany(m => m.Contents).OfType<TextReasoningContent>().ToList();
        Assert.Contains(reasoning, r => r.Text == "Need the weather.");
        // Streamed reasoning text comes first (its state follows it, after the answer's text, and goes back joined to it).
        Assert.Contains(reasoning, r => r.Text == "Mild.");
        Assert.Contains(reasoning, r => r.ProtectedData?.Contains(AnthropicFake.SignatureFor("Mild."), StringComparison.Ordinal) == true);
        Assert.Equal(100, response.Usage!.CachedInputTokenCount);
        Assert.Equal(15, response.Usage.AdditionalCounts![IntegrationChatClient.CacheWriteCount]);
        var second = fake.Requests[1].Json!.Value.GetProperty("messages")[1].GetProperty("content");
        Assert.Equal(("thinking", "Need the weather."), (second[0].GetProperty("type").GetString(), second[0].GetProperty("thinking").GetString()));
        Assert.Equal(AnthropicFake.SignatureFor("Need the weather."), second[0].GetProperty("signature").GetString());

        // A third turn sends the whole history back: both thinking blocks with their text and signatures (the fake checks them).
        fake.Enqueue(new FakeScript { TextChunks = ["Bye."] });
        var history = new List<ChatMessage> { new(ChatRole.User, "Weather in Paris?") };
        history.AddRange(response.Messages);
        history.Add(new ChatMessage(ChatRole.User, "Thanks"));
        var third = await chat.GetResponseAsync(history, options);
        Assert.Equal("Bye.", third.Text);
        Assert.Contains("\"thinking\":\"Mild.\"", fake.Requests[2].Body);
    }

    [Fact]
    public async Task Reasoning_ReasoningTokens_MappedToUsageDetails()
    {
        await using var gateway = await TestGateway.StartAsync();
        gateway.OpenAI.DefaultScript = new FakeScript { TextChunks = ["ok"], ReasoningTokens = 64, CachedInputTokens = 3 };
        await using var client = new IntegrationClient(gateway.Channel, new IntegrationClientOptions { Headers = () => TestGateway.AuthHeaders() });
        using var chat = new IntegrationChatClient(client, "openai", new Dictionary<string, string> { ["key"] = "test-key" }, "o4-mini");

        var response = await chat.GetResponseAsync("hi");

        Assert.Equal(64, response.Usage!.ReasoningTokenCount);
        Assert.Equal(3, response.Usage.CachedInputTokenCount);
    }
}
