using Anthropic;
using Anthropic.Models.Messages;
using IntegrationApi.Testing;

namespace IntegrationApi.Tests.Fakes;

/// <summary>The official Anthropic .NET SDK, pointed at the fake, reads the same text, tool use and usage: the fake speaks the real format.</summary>
public sealed class AnthropicSdkFidelityTests : IAsyncLifetime
{
    private AnthropicFake _fake = null!;

    public async Task InitializeAsync() => _fake = await AnthropicFake.StartNewAsync();

    public async Task DisposeAsync() => await _fake.DisposeAsync();

    private AnthropicClient Client(string key = "test-key") =>
        new() { BaseUrl = _fake.BaseUrl[..^"/v1".Length], ApiKey = key, MaxRetries = 0 };

    private static MessageCreateParams Params() => new()
    {
        MaxTokens = 1024,
        Model = "claude-sonnet-4-5",
        Messages = [new UserMessageParam { Content = "weather?" }],
    };

    private static readonly FakeScript Script = new()
    {
        TextChunks = ["I'll check", " the weather."],
        ToolCalls = [new FakeToolCall("toolu_01", "get_weather", "{\"locati", "on\": \"P", "aris\"}")],
        InputTokens = 377, CachedInputTokens = 100, OutputTokens = 65,
    };

    [Fact]
    public async Task Streaming_SdkAggregatesTextToolUseUsageAndStopReason()
    {
        _fake.DefaultScript = Script;
        var message = await Client().Messages.CreateStreaming(Params()).Aggregate();

        var text = string.Concat(message.Content.Select(c => c.Value).OfType<TextBlock>().Select(t => t.Text));
        var toolUse = Assert.Single(message.Content.Select(c => c.Value).OfType<ToolUseBlock>());
        Assert.Equal("I'll check the weather.", text);
        Assert.Equal("toolu_01", toolUse.ID);
        Assert.Equal("get_weather", toolUse.Name);
        Assert.Equal("Paris", toolUse.Input["location"].GetString());
        Assert.Equal(StopReason.ToolUse, message.StopReason!.Value());
        Assert.Equal(277, message.Usage.InputTokens);
        Assert.Equal(100, message.Usage.CacheReadInputTokens);
        Assert.Equal(65, message.Usage.OutputTokens);
    }

    [Fact]
    public async Task NonStreaming_SdkReadsTheMessage()
    {
        _fake.DefaultScript = Script;
        var message = await Client().Messages.Create(Params());
        Assert.Equal("I'll check the weather.", Assert.Single(message.Content.Select(c => c.Value).OfType<TextBlock>()).Text);
        Assert.Equal("Paris", Assert.Single(message.Content.Select(c => c.Value).OfType<ToolUseBlock>()).Input["location"].GetString());
        Assert.Equal(65, message.Usage.OutputTokens);
    }

    [Fact]
    public async Task InBandError_SdkRaises()
    {
        _fake.DefaultScript = new FakeScript { TextChunks = ["a", "b"], Fault = FakeFault.InBandError, FaultAfterChunks = 1, ErrorType = "overloaded_error", ErrorMessage = "Overloaded" };
        var error = await Assert.ThrowsAnyAsync<Exception>(async () =>
        {
            await foreach (var _ in Client().Messages.CreateStreaming(Params())) { }
        });
        Assert.Contains("Overloaded", error.ToString());
    }

    [Theory]
    [InlineData(401, "authentication_error")]
    [InlineData(429, "rate_limit_error")]
    [InlineData(529, "overloaded_error")]
    public async Task HttpErrors_SdkSeesStatusAndErrorType(int status, string type)
    {
        _fake.DefaultScript = FakeScript.Error(status, message: "scripted failure");
        var error = await Assert.ThrowsAnyAsync<Exception>(() => Client().Messages.Create(Params()));
        Assert.Contains("scripted failure", error.Message);
        Assert.Contains(type, error.Message);
        Assert.Equal(status, (int)(System.Net.HttpStatusCode)error.GetType().GetProperty("StatusCode")!.GetValue(error)!);
    }
}
