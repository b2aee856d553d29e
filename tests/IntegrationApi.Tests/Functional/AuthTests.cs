using Grpc.Core;
using IntegrationApi.Auth;
using IntegrationApi.Tests.Infrastructure;
using static IntegrationApi.Tests.Infrastructure.TestRequests;

namespace IntegrationApi.Tests.Functional;

/// <summary>Contract §5 and §3.1: callers authenticate once per stream or unary call.</summary>
public sealed class AuthTests
{
    public static IEnumerable<object[]> BadHeaders()
    {
        yield return ["none", new Metadata()];
        yield return ["wrong secret", new Metadata { { CallerAuthenticator.ServiceKeyHeader, TestTokens.Jwt("another-secret-of-enough-length-000000", 1, 2, 3, DateTimeOffset.UtcNow.AddHours(1)) } }];
        yield return ["expired", new Metadata { { CallerAuthenticator.ServiceKeyHeader, TestTokens.Jwt(TestGateway.JwtSecret, 1, 2, 3, DateTimeOffset.UtcNow.AddHours(-1)) } }];
        yield return ["alg none", new Metadata { { CallerAuthenticator.ServiceKeyHeader, TestTokens.Jwt(TestGateway.JwtSecret, 1, 2, 3, DateTimeOffset.UtcNow.AddHours(1), alg: "none") } }];
        yield return ["no project", new Metadata { { CallerAuthenticator.ServiceKeyHeader, TestTokens.Jwt(TestGateway.JwtSecret, 1, 2, 0, DateTimeOffset.UtcNow.AddHours(1)) } }];
        yield return ["garbage", new Metadata { { CallerAuthenticator.ServiceKeyHeader, "not.a.jwt" } }];
        yield return ["unknown api key", new Metadata { { CallerAuthenticator.ApiKeyHeader, "rpd-prj-nope" } }];
    }

    [Theory, MemberData(nameof(BadHeaders))]
    public async Task StreamChat_InvalidCaller_UnauthenticatedAndNoRequestProcessed(string why, Metadata headers)
    {
        await using var gateway = await TestGateway.StartAsync();
        using var stream = gateway.OpenStream("openai", headers);
        try { await stream.SendAsync(NewChat("openai", "hi")); } catch (RpcException) { /* the call may already be over */ }

        var error = await Assert.ThrowsAsync<RpcException>(() => stream.ReadAsync());
        Assert.True(error.StatusCode == StatusCode.Unauthenticated, why);
        Assert.DoesNotContain(TestGateway.JwtSecret, error.Status.Detail);
        Assert.Empty(gateway.OpenAI.Requests);
    }

    [Theory, MemberData(nameof(BadHeaders))]
    public async Task Chat_InvalidCaller_Unauthenticated(string why, Metadata headers)
    {
        await using var gateway = await TestGateway.StartAsync();
        var error = await Assert.ThrowsAsync<RpcException>(() => gateway.ChatAsync("openai", NewChat("openai", "hi"), headers));
        Assert.True(error.StatusCode == StatusCode.Unauthenticated, why);
        Assert.Empty(gateway.OpenAI.Requests);
    }

    [Theory]
    [InlineData(TestGateway.ApiKey)]
    [InlineData("test-api-key")] // the rpd-prj- prefix is optional
    public async Task ProjectApiKey_Accepted(string key)
    {
        await using var gateway = await TestGateway.StartAsync();
        using var stream = gateway.OpenStream("anthropic", new Metadata { { CallerAuthenticator.ApiKeyHeader, key } });
        await stream.SendAsync(NewChat("anthropic", "hi"));
        Assert.True((await stream.ReadUntilAsync(ChatStream.IsTerminal)).Success);
    }

    [Fact]
    public async Task LongLivedStream_TokenExpires_LaterRequestsGet401_StreamStaysOpen()
    {
        var clock = new ShiftedTimeProvider();
        await using var gateway = await TestGateway.StartAsync(time: clock);
        using var stream = gateway.OpenStream("openai", TestGateway.AuthHeaders(DateTimeOffset.UtcNow.AddMinutes(10)));
        await stream.SendAsync(NewChat("openai", "early"));
        Assert.True((await stream.ReadUntilAsync(ChatStream.IsTerminal)).Success);

        clock.Offset = TimeSpan.FromHours(1); // the token is now past its exp
        await stream.SendAsync(NewChat("openai", "late"));
        var late = await stream.ReadUntilAsync(ChatStream.IsTerminal);
        Assert.Equal(401, late.Code);
        Assert.Contains("expired", late.Error.ErrorMessage);
        await stream.CompleteAsync();
        Assert.Equal(StatusCode.OK, (await stream.ReadToEndAsync()).StatusCode);
        Assert.Single(gateway.OpenAI.Requests);
    }

    [Fact]
    public async Task ShortSharedSecretOfTheOriginal_StillVerifies()
    {
        await using var gateway = await TestGateway.StartAsync(new Dictionary<string, string?> { ["Auth:JwtSecret"] = "rpd_pks" });
        var headers = new Metadata { { CallerAuthenticator.ServiceKeyHeader, TestTokens.Jwt("rpd_pks", 1, 2, 3, DateTimeOffset.UtcNow.AddHours(24)) } };
        var response = await gateway.ChatAsync("openai", NewChat("openai", "hi"), headers);
        Assert.True(response.Success, response.Describe());
    }
}
