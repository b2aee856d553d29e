using Grpc.Core;
using IntegrationApi.Tests.Infrastructure;
using static IntegrationApi.Tests.Infrastructure.TestRequests;

namespace IntegrationApi.Tests.Functional;

/// <summary>The unified LlmService routes each request by <c>providerName</c>.</summary>
public sealed class LlmServiceTests
{
    [Fact]
    public async Task OneStream_RequestsToSeveralProviders()
    {
        await using var gateway = await TestGateway.StartAsync();
        gateway.OpenAI.DefaultScript = new() { TextChunks = ["from openai"] };
        gateway.Anthropic.DefaultScript = new() { TextChunks = ["from anthropic"] };
        using var stream = gateway.OpenStream(provider: null);

        var a = NewChat("openai", "hi", "a"); a.ProviderName = "OpenAI";
        var b = NewChat("anthropic", "hi", "b"); b.ProviderName = "anthropic";
        await stream.SendAsync(a);
        await stream.SendAsync(b);
        var terminals = await stream.ReadTerminalsAsync(2);

        Assert.Equal("from openai", terminals.Single(t => t.ClientRequestId == "a").Text());
        Assert.Equal("from anthropic", terminals.Single(t => t.ClientRequestId == "b").Text());
        Assert.Single(gateway.OpenAI.Requests);
        Assert.Single(gateway.Anthropic.Requests);
    }

    [Theory]
    [InlineData("", "providerName is required")]
    [InlineData("bedrock", "unknown")]
    public async Task BadProviderName_400_StreamGoesOn(string name, string message)
    {
        await using var gateway = await TestGateway.StartAsync();
        using var stream = gateway.OpenStream(provider: null);
        var bad = NewChat("openai", "hi"); bad.ProviderName = name;
        await stream.SendAsync(bad);
        var terminal = await stream.ReadUntilAsync(ChatStream.IsTerminal);
        Assert.Equal(400, terminal.Code);
        Assert.Contains(message, terminal.Error.ErrorMessage);

        var good = NewChat("openai", "hi"); good.ProviderName = "openai";
        await stream.SendAsync(good);
        Assert.True((await stream.ReadUntilAsync(ChatStream.IsTerminal)).Success);
    }

    [Fact]
    public async Task NonChatRpcs_Answered_BadInputIs400NotUnimplemented()
    {
        await using var gateway = await TestGateway.StartAsync();
        var embed = await gateway.OpenAIClient.EmbeddingAsync(
            new Contracts.EmbeddingRequest { Credential = Credential("test-key") }, TestGateway.AuthHeaders()).ResponseAsync;
        Assert.Equal(400, embed.Code);
        Assert.Contains("content", embed.Error.ErrorMessage);
        var moderation = await gateway.OpenAIClient.GetModerationAsync(
            new Contracts.GetModerationRequest { Credential = Credential("test-key") }, TestGateway.AuthHeaders()).ResponseAsync;
        Assert.Equal(400, moderation.Code);
        Assert.Empty(gateway.OpenAI.Requests);
    }
}
