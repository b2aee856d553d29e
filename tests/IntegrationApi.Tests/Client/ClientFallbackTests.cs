using IntegrationApi.Client;
using IntegrationApi.Testing;
using IntegrationApi.Tests.Infrastructure;
using Microsoft.Extensions.AI;
using Proto = IntegrationApi.Contracts;

namespace IntegrationApi.Tests.Client;

/// <summary>Fallbacks and hedging through the client library and its IChatClient, against the real service and fakes.</summary>
public sealed class ClientFallbackTests
{
    private static readonly Dictionary<string, string?> NoRetries = new() { ["Engine:MaxRetries"] = "0" };

    private static IntegrationClient NewClient(TestGateway gateway) =>
        new(gateway.Channel, new IntegrationClientOptions { Headers = () => TestGateway.AuthHeaders() });

    private static Proto.ChatRequest Chat(TestGateway gateway, string prompt)
    {
        var request = gateway.NewChat("openai", prompt);
        request.ProviderName = "openai";
        return request;
    }

    [Fact]
    public async Task IntegrationClient_PrimaryFailsAfterItsRetries_TheFallbackServes_AndSaysSo()
    {
        await using var gateway = await TestGateway.StartAsync();
        for (var i = 0; i < 3; i++) gateway.OpenAI.Enqueue(FakeScript.Error(503)); // the first try and two retries
        gateway.Anthropic.DefaultScript = new FakeScript { TextChunks = ["from ", "claude"] };
        gateway.Anthropic.ValidKey = "anthropic-key";
        await using var client = NewClient(gateway);

        var request = Chat(gateway, "hi").WithFallback("anthropic", "claude-sonnet-4-5", new Dictionary<string, string> { ["key"] = "anthropic-key" });
        var answer = await client.ChatAsync(request).DefaultTimeout();

        Assert.True(answer.Success, answer.Describe());
        Assert.Equal("from claude", answer.Text());
        Assert.Equal(new ServedBy("anthropic", "claude-sonnet-4-5", 2), answer.GetServedBy());
        Assert.Equal(3, gateway.OpenAI.Requests.Count);
        var sent = Assert.Single(gateway.Anthropic.Requests);
        Assert.Equal("anthropic-key", TestRequests.SentKey("anthropic", sent));
        Assert.Equal("claude-sonnet-4-5", sent.Json!.Value.GetProperty("model").GetString());
    }

    [Fact]
    public async Task IntegrationClient_SameProviderFallback_InheritsProviderAndCredential_TakesItsModel()
    {
        await using var gateway = await TestGateway.StartAsync(NoRetries);
        gateway.OpenAI.Enqueue(FakeScript.Error(503));
        await using var client = NewClient(gateway);

        var answer = await client.ChatAsync(Chat(gateway, "hi").WithFallback(ChatTargetSpec.Parse(":gpt-4o"))).DefaultTimeout();

        Assert.True(answer.Success, answer.Describe());
        Assert.Equal(new ServedBy("openai", "gpt-4o", 2), answer.GetServedBy());
        Assert.Equal(["gpt-4o-mini", "gpt-4o"], gateway.OpenAI.Requests.Select(r => r.Json!.Value.GetProperty("model").GetString()));
        Assert.All(gateway.OpenAI.Requests, r => Assert.Equal("test-key", TestRequests.SentKey("openai", r)));
    }

    [Fact]
    public async Task IntegrationClient_Hedge_ASlowPrimaryLosesToTheFallback()
    {
        await using var gateway = await TestGateway.StartAsync();
        gateway.OpenAI.DefaultScript = new FakeScript { TextChunks = ["slow"], TimeToFirstToken = TimeSpan.FromSeconds(30) };
        gateway.Anthropic.DefaultScript = new FakeScript { TextChunks = ["fast"] };
        await using var client = NewClient(gateway);

        var request = Chat(gateway, "hi").WithFallback("anthropic", "claude-sonnet-4-5").WithHedge(TimeSpan.FromMilliseconds(50));
        Assert.Equal(50u, request.HedgeAfterMs);
        var answer = await client.ChatAsync(request).DefaultTimeout();

        Assert.True(answer.Success, answer.Describe());
        Assert.Equal("fast", answer.Text());
        Assert.Equal(new ServedBy("anthropic", "claude-sonnet-4-5", 2), answer.GetServedBy());
        await Assert.Single(gateway.OpenAI.Requests).Aborted.DefaultTimeout(); // the loser's upstream call is aborted
    }

    [Fact]
    public async Task IntegrationClient_NoFallback_TheTerminalNamesTheModel_OneAttempt()
    {
        await using var gateway = await TestGateway.StartAsync();
        await using var client = NewClient(gateway);

        var answer = await client.ChatAsync(Chat(gateway, "hi")).DefaultTimeout();

        Assert.Equal(new ServedBy("openai", "gpt-4o-mini", 1), answer.GetServedBy());
    }

    [Fact]
    public async Task ChatClient_FallbackFromOptions_ResponseNamesTheModelProviderAndAttempts()
    {
        await using var gateway = await TestGateway.StartAsync();
        for (var i = 0; i < 3; i++) gateway.OpenAI.Enqueue(FakeScript.Error(503));
        gateway.Anthropic.DefaultScript = new FakeScript { TextChunks = ["from ", "claude"] };
        gateway.Anthropic.ValidKey = "anthropic-key";
        await using var client = NewClient(gateway);
        using var chat = new IntegrationChatClient(client, "openai", new Dictionary<string, string> { ["key"] = "test-key" }, "gpt-4o-mini")
        {
            Credentials = new Dictionary<string, IReadOnlyDictionary<string, string>> { ["anthropic"] = new Dictionary<string, string> { ["key"] = "anthropic-key" } },
        };
        var options = new ChatOptions { AdditionalProperties = new() { [IntegrationChatOptions.Fallbacks] = new[] { "anthropic:claude-sonnet-4-5" } } };

        var updates = new List<ChatResponseUpdate>();
        await foreach (var u in chat.GetStreamingResponseAsync("hi", options)) updates.Add(u);
        var response = updates.ToChatResponse();

        Assert.Equal("from claude", response.Text);
        Assert.Equal("claude-sonnet-4-5", response.ModelId);
        Assert.Equal("anthropic", response.AdditionalProperties?[IntegrationChatOptions.Provider]);
        Assert.Equal(2, response.AdditionalProperties?[IntegrationChatOptions.Attempts]);
        Assert.All(updates.SkipLast(1), u => Assert.Null(u.ModelId)); // unknown until the terminal: a fallback may answer
        Assert.Equal("anthropic-key", TestRequests.SentKey("anthropic", Assert.Single(gateway.Anthropic.Requests)));
    }

    [Fact]
    public async Task ChatClient_TypedTargetsAndHedgeFromOptions()
    {
        await using var gateway = await TestGateway.StartAsync();
        gateway.OpenAI.DefaultScript = new FakeScript { TextChunks = ["slow"], TimeToFirstToken = TimeSpan.FromSeconds(30) };
        gateway.Anthropic.DefaultScript = new FakeScript { TextChunks = ["fast"] };
        await using var client = NewClient(gateway);
        using var chat = new IntegrationChatClient(client, "openai", new Dictionary<string, string> { ["key"] = "test-key" }, "gpt-4o-mini");
        var options = new ChatOptions
        {
            AdditionalProperties = new()
            {
                [IntegrationChatOptions.Fallbacks] = new List<ChatTargetSpec> { new("anthropic", "claude-sonnet-4-5") },
                [IntegrationChatOptions.HedgeAfter] = TimeSpan.FromMilliseconds(50),
            },
        };

        var response = await chat.GetResponseAsync("hi", options).DefaultTimeout();

        Assert.Equal("fast", response.Text);
        Assert.Equal("claude-sonnet-4-5", response.ModelId);
        Assert.Equal("anthropic", response.AdditionalProperties?[IntegrationChatOptions.Provider]);
    }

    [Fact]
    public async Task ChatClient_NoFallback_ModelIdAndProviderFromTheTerminal()
    {
        await using var gateway = await TestGateway.StartAsync();
        await using var client = NewClient(gateway);
        using var chat = new IntegrationChatClient(client, "openai", new Dictionary<string, string> { ["key"] = "test-key" }, "gpt-4o-mini");

        var response = await chat.GetResponseAsync("hi");

        Assert.Equal("gpt-4o-mini", response.ModelId);
        Assert.Equal("openai", response.AdditionalProperties?[IntegrationChatOptions.Provider]);
        Assert.Equal(1, response.AdditionalProperties?[IntegrationChatOptions.Attempts]);
    }

    [Fact]
    public async Task ChatClient_EveryTargetFails_TheErrorNamesTheLastTarget()
    {
        await using var gateway = await TestGateway.StartAsync(NoRetries);
        gateway.OpenAI.Enqueue(FakeScript.Error(503));
        gateway.Anthropic.Enqueue(FakeScript.Error(503));
        await using var client = NewClient(gateway);
        using var chat = new IntegrationChatClient(client, "openai", new Dictionary<string, string> { ["key"] = "test-key" }, "gpt-4o-mini");
        var options = new ChatOptions { AdditionalProperties = new() { [IntegrationChatOptions.Fallbacks] = "anthropic:claude-sonnet-4-5" } };

        var error = await Assert.ThrowsAsync<IntegrationRequestException>(() => chat.GetResponseAsync("hi", options));

        Assert.Equal(("anthropic", "claude-sonnet-4-5", 2), (error.Provider, error.Model, error.Attempts));
    }

    [Fact]
    public async Task ChatClient_AnUnusableFallbackOption_ThrowsBeforeSending()
    {
        await using var gateway = await TestGateway.StartAsync();
        await using var client = NewClient(gateway);
        using var chat = new IntegrationChatClient(client, "openai", new Dictionary<string, string> { ["key"] = "test-key" }, "gpt-4o-mini");

        await Assert.ThrowsAsync<FormatException>(() => chat.GetResponseAsync("hi",
            new ChatOptions { AdditionalProperties = new() { [IntegrationChatOptions.Fallbacks] = new[] { "anthropic" } } }));
        await Assert.ThrowsAsync<ArgumentException>(() => chat.GetResponseAsync("hi",
            new ChatOptions { AdditionalProperties = new() { [IntegrationChatOptions.HedgeAfter] = "soon" } }));
        Assert.Empty(gateway.OpenAI.Requests);
    }

    [Theory]
    [InlineData("anthropic:claude-sonnet-4-5", "anthropic", "claude-sonnet-4-5")]
    [InlineData(":gpt-4o", null, "gpt-4o")]
    [InlineData("anthropic:", "anthropic", null)]
    [InlineData(" ollama : llama3:8b ", "ollama", "llama3:8b")]
    public void ChatTargetSpec_Parse(string spec, string? provider, string? model)
    {
        var parsed = ChatTargetSpec.Parse(spec);
        Assert.Equal((provider, model), (parsed.Provider, parsed.Model));
        Assert.Null(parsed.Credential);
    }

    [Theory]
    [InlineData("anthropic")]
    [InlineData(":")]
    [InlineData("")]
    public void ChatTargetSpec_Parse_Rejects(string spec) => Assert.Throws<FormatException>(() => ChatTargetSpec.Parse(spec));

    [Fact]
    public void ChatTargetSpec_ToProto_SetsOnlyWhatItNames()
    {
        var inherit = new ChatTargetSpec(Model: "gpt-4o").ToProto();
        Assert.Equal("", inherit.ProviderName);
        Assert.Null(inherit.Credential);
        Assert.Equal("gpt-4o", inherit.ModelParameters["model.name"].Unpack<Google.Protobuf.WellKnownTypes.Value>().StringValue);

        var full = new ChatTargetSpec("anthropic", null, new Dictionary<string, string> { ["key"] = "k" }).ToProto();
        Assert.Equal("anthropic", full.ProviderName);
        Assert.Empty(full.ModelParameters);
        Assert.Equal("k", full.Credential.Value.Fields["key"].StringValue);
        Assert.Equal("anthropic:", new ChatTargetSpec("anthropic", null, new Dictionary<string, string> { ["key"] = "secret" }).ToString());
    }

    [Fact]
    public void WithHedge_RoundsUpToWholeMilliseconds_ZeroTurnsItOff_NegativeThrows()
    {
        var request = new Proto.ChatRequest();
        Assert.Equal(2u, request.WithHedge(TimeSpan.FromMilliseconds(1.2)).HedgeAfterMs);
        Assert.Equal(0u, request.WithHedge(TimeSpan.Zero).HedgeAfterMs);
        Assert.Throws<ArgumentOutOfRangeException>(() => request.WithHedge(TimeSpan.FromMilliseconds(-1)));
        Assert.Equal("", request.WithFallback("", "m").Fallbacks[0].ProviderName);
    }
}
