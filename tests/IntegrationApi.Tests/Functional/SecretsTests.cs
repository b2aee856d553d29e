using Grpc.Core;
using IntegrationApi.Auth;
using IntegrationApi.Testing;
using IntegrationApi.Tests.Infrastructure;
using static IntegrationApi.Tests.Infrastructure.TestRequests;

namespace IntegrationApi.Tests.Functional;

/// <summary>Provider keys, JWTs and API keys never reach logs or error messages.</summary>
public sealed class SecretsTests
{
    [Fact]
    public async Task Secrets_NeverInLogsOrErrors()
    {
        const string goodKey = "sk-live-GOODSECRET-1234567890";
        const string badKey = "sk-live-BADSECRET-0987654321";
        await using var gateway = await TestGateway.StartAsync();
        gateway.OpenAI.ValidKey = goodKey;
        // A provider that echoes the key it rejected, as OpenAI's 401 message does.
        gateway.OpenAI.On("echo", FakeScript.Error(401, message: $"Incorrect API key provided: {goodKey}."));
        var jwt = TestTokens.Jwt(TestGateway.JwtSecret, 1, 2, 3, DateTimeOffset.UtcNow.AddHours(1));
        var headers = new Metadata { { CallerAuthenticator.ServiceKeyHeader, jwt } };

        using var stream = gateway.OpenStream("openai", headers);
        await stream.SendAsync(NewChat("openai", "fine", "1", goodKey));
        await stream.SendAsync(NewChat("openai", "wrong", "2", badKey));
        await stream.SendAsync(NewChat("openai", "echo", "3", goodKey));
        await stream.SendAsync(NewChat("openai", "slow", "4", goodKey));
        await stream.CancelAsync("4");
        await stream.CompleteAsync();
        await stream.ReadToEndAsync();
        using (var bad = gateway.OpenStream("openai", new Metadata { { CallerAuthenticator.ApiKeyHeader, "rpd-prj-WRONGAPIKEY" } }))
            await Assert.ThrowsAsync<RpcException>(() => bad.ReadAsync());
        await gateway.ChatAsync("openai", NewChat("openai", "unary", key: badKey), new Metadata { { CallerAuthenticator.ApiKeyHeader, TestGateway.ApiKey } });

        var terminals = stream.Received.Where(ChatStream.IsTerminal).ToList();
        Assert.Equal(4, terminals.Count);
        Assert.Contains("[redacted]", terminals.Single(t => t.ClientRequestId == "3").Error.ErrorMessage);
        string[] secrets = [goodKey, badKey, jwt, TestGateway.JwtSecret, TestGateway.ApiKey, "WRONGAPIKEY", "GOODSECRET", "BADSECRET"];
        var everything = string.Join("\n", gateway.Logs.Entries.Select(e => e.Message))
            + string.Join("\n", terminals.Select(t => t.Error?.ErrorMessage + t.Error?.HumanMessage));
        Assert.NotEmpty(gateway.Logs.Entries);
        foreach (var secret in secrets) Assert.DoesNotContain(secret, everything);
    }
}
