using Grpc.Core;
using IntegrationApi.Auth;
using IntegrationApi.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
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
    public async Task ShortSharedSecretOfTheOriginal_StillVerifies_WithALoudWarningAtStart()
    {
        await using var gateway = await TestGateway.StartAsync(new Dictionary<string, string?> { ["Auth:JwtSecret"] = "rpd_pks" });
        Assert.Contains(gateway.Logs.Entries, e => e.Level == Microsoft.Extensions.Logging.LogLevel.Warning
            && e.Message.StartsWith("SECURITY WARNING: Auth:JwtSecret is only 7 bytes", StringComparison.Ordinal));
        Assert.DoesNotContain("rpd_pks", string.Join("\n", gateway.Logs.Entries.Select(e => e.Message)));
        var headers = new Metadata { { CallerAuthenticator.ServiceKeyHeader, TestTokens.Jwt("rpd_pks", 1, 2, 3, DateTimeOffset.UtcNow.AddHours(24)) } };
        var response = await gateway.ChatAsync("openai", NewChat("openai", "hi"), headers);
        Assert.True(response.Success, response.Describe());
    }

    [Fact]
    public async Task LongSecret_NoWarning()
    {
        await using var gateway = await TestGateway.StartAsync();
        Assert.DoesNotContain(gateway.Logs.Entries, e => e.Message.Contains("SECURITY WARNING", StringComparison.Ordinal));
    }

    public static IEnumerable<object[]> FutureTimeClaims()
    {
        var future = DateTimeOffset.UtcNow.AddMinutes(10).ToUnixTimeSeconds();
        yield return ["nbf", future];
        yield return ["iat", future];
        yield return ["nbf", "not a number"];
    }

    [Theory, MemberData(nameof(FutureTimeClaims))]
    public async Task Jwt_NotValidYetOrIssuedInTheFuture_Unauthenticated(string claim, object value)
    {
        await using var gateway = await TestGateway.StartAsync();
        var token = TestTokens.Jwt(TestGateway.JwtSecret, 1, 2, 3, DateTimeOffset.UtcNow.AddHours(1), extraClaims: new Dictionary<string, object> { [claim] = value });
        var error = await Assert.ThrowsAsync<RpcException>(() => gateway.ChatAsync("openai", NewChat("openai", "hi"), new Metadata { { CallerAuthenticator.ServiceKeyHeader, token } }));
        Assert.Equal(StatusCode.Unauthenticated, error.StatusCode);
        Assert.Empty(gateway.OpenAI.Requests);
    }

    [Fact]
    public async Task Jwt_NbfAndIatInThePastOrWithinTheSkew_Accepted()
    {
        await using var gateway = await TestGateway.StartAsync();
        var claims = new Dictionary<string, object>
        {
            ["nbf"] = DateTimeOffset.UtcNow.AddSeconds(10).ToUnixTimeSeconds(), // within the 30 s clock skew
            ["iat"] = DateTimeOffset.UtcNow.AddMinutes(-5).ToUnixTimeSeconds(),
        };
        var token = TestTokens.Jwt(TestGateway.JwtSecret, 1, 2, 3, DateTimeOffset.UtcNow.AddHours(1), extraClaims: claims);
        var response = await gateway.ChatAsync("openai", NewChat("openai", "hi"), new Metadata { { CallerAuthenticator.ServiceKeyHeader, token } });
        Assert.True(response.Success, response.Describe());
    }

    /// <summary>Every method of every Integration API service, as the proto declares them.</summary>
    public static IEnumerable<object[]> AllMethods() =>
        IntegrationApi.Contracts.IntegrationApiReflection.Descriptor.Services
            .Concat(IntegrationApi.Contracts.AuditLoggingApiReflection.Descriptor.Services)
            .SelectMany(service => service.Methods.Select(m => new object[] { service.FullName, m.Name, m.IsClientStreaming }));

    [Theory, MemberData(nameof(AllMethods))]
    public async Task EveryMethod_AnySpellingOfItsPath_NeedsAPrincipal(string service, string method, bool clientStreaming)
    {
        await using var gateway = await TestGateway.StartAsync();
        string[] spellings = [service, service.ToUpperInvariant(), service.ToLowerInvariant(), char.ToUpperInvariant(service[0]) + service[1..]];
        foreach (var spelling in spellings)
            foreach (var name in new[] { method, method.ToUpperInvariant(), method.ToLowerInvariant() })
            {
                var status = await RawCallAsync(gateway, spelling, name, clientStreaming, new Metadata());
                // Unauthenticated, or (for a spelling routing does not match) Unimplemented: never an answer.
                Assert.True(status is StatusCode.Unauthenticated or StatusCode.Unimplemented, $"/{spelling}/{name} answered {status} without a principal");
            }
        // The exact path is routed, so it is the authentication that refuses it.
        Assert.Equal(StatusCode.Unauthenticated, await RawCallAsync(gateway, service, method, clientStreaming, new Metadata()));
        Assert.Equal(StatusCode.Unauthenticated, await RawCallAsync(gateway, service.ToUpperInvariant(), method, clientStreaming, new Metadata()));
        Assert.Empty(gateway.OpenAI.Requests);
        Assert.Empty(gateway.OpenAI.Verifications);
    }

    [Fact]
    public async Task Health_IsOpen_Reflection_OpenWhereEnabled()
    {
        await using var gateway = await TestGateway.StartAsync(); // environment "Testing": reflection on by default
        Assert.Equal(StatusCode.OK, await RawCallAsync(gateway, "grpc.health.v1.Health", "Check", false, new Metadata()));
        Assert.Equal(StatusCode.OK, await RawCallAsync(gateway, "grpc.reflection.v1alpha.ServerReflection", "ServerReflectionInfo", true, new Metadata(), ListServices));
        // Only the exact paths are open: another spelling of health is not let through unauthenticated.
        Assert.NotEqual(StatusCode.OK, await RawCallAsync(gateway, "GRPC.HEALTH.V1.HEALTH", "Check", false, new Metadata()));
    }

    [Theory]
    [InlineData("Production", null)]
    [InlineData("Testing", "false")]
    public async Task Reflection_OffInProductionByDefault_AndSwitchable(string environment, string? setting)
    {
        await using var gateway = await TestGateway.StartAsync(new Dictionary<string, string?> { ["Server:EnableReflection"] = setting }, environment: environment);
        var status = await RawCallAsync(gateway, "grpc.reflection.v1alpha.ServerReflection", "ServerReflectionInfo", true, TestGateway.AuthHeaders(), ListServices);
        Assert.Equal(StatusCode.Unimplemented, status);
        Assert.Equal(StatusCode.OK, await RawCallAsync(gateway, "grpc.health.v1.Health", "Check", false, new Metadata()));
    }

    [Fact]
    public async Task RevokedStoredKey_OpenStreamRefusesNewRequestsWithinTheCheckInterval()
    {
        var clock = new ShiftedTimeProvider();
        await using var gateway = await TestGateway.StartAsync(new Dictionary<string, string?> { ["Auth:RevocationCheckInterval"] = "00:00:30" }, time: clock);
        var store = gateway.App.Services.GetRequiredService<ApiKeyStore>();
        var (key, secret) = store.Create(11, 12, "revocation");
        using var stream = gateway.OpenStream("openai", new Metadata { { CallerAuthenticator.ApiKeyHeader, secret } });
        await stream.SendAsync(gateway.NewChat("openai", "before"));
        Assert.True((await stream.ReadUntilAsync(ChatStream.IsTerminal)).Success);

        Assert.True(store.Revoke(key.Id));
        await stream.SendAsync(gateway.NewChat("openai", "within the interval"));
        Assert.True((await stream.ReadUntilAsync(ChatStream.IsTerminal)).Success); // not checked again yet: bounded, not instant

        clock.Offset = TimeSpan.FromSeconds(31);
        await stream.SendAsync(gateway.NewChat("openai", "after"));
        var refused = await stream.ReadUntilAsync(ChatStream.IsTerminal);
        Assert.Equal(401, refused.Code);
        Assert.Contains("revoked", refused.Error.ErrorMessage);
        await stream.SendAsync(gateway.NewChat("openai", "still refused", clientRequestId: "tagged"));
        Assert.Equal(401, (await stream.ReadUntilAsync(ChatStream.IsTerminal)).Code);
        await stream.CompleteAsync();
        Assert.Equal(StatusCode.OK, (await stream.ReadToEndAsync()).StatusCode);
        Assert.Equal(2, gateway.OpenAI.Requests.Count);
    }

    [Fact]
    public async Task RefusedCalls_CountedByReason_OneLogLineEach_NamingTheMethod_NeverTheSecret()
    {
        await using var gateway = await TestGateway.StartAsync();
        using var recorder = new MeasurementRecorder(gateway, "integration_api.auth.failures");
        var wrongSecret = TestTokens.Jwt("another-secret-of-enough-length-000000", 1, 2, 3, DateTimeOffset.UtcNow.AddHours(1));
        var expired = TestTokens.Jwt(TestGateway.JwtSecret, 1, 2, 3, DateTimeOffset.UtcNow.AddHours(-1));
        var notYet = TestTokens.Jwt(TestGateway.JwtSecret, 1, 2, 3, DateTimeOffset.UtcNow.AddHours(1),
            extraClaims: new Dictionary<string, object> { ["nbf"] = DateTimeOffset.UtcNow.AddMinutes(10).ToUnixTimeSeconds() });
        const string unknownKey = "rpd-prj-an-unknown-key-0123456789";
        Metadata[] calls =
        [
            new() { { CallerAuthenticator.ServiceKeyHeader, wrongSecret } },
            new() { { CallerAuthenticator.ServiceKeyHeader, expired } },
            new() { { CallerAuthenticator.ServiceKeyHeader, notYet } },
            new() { { CallerAuthenticator.ApiKeyHeader, unknownKey } },
            new(),
        ];
        foreach (var headers in calls)
        {
            var error = await Assert.ThrowsAsync<RpcException>(() => gateway.ChatAsync("openai", NewChat("openai", "hi"), headers));
            Assert.Equal(StatusCode.Unauthenticated, error.StatusCode);
        }
        Assert.Equal(StatusCode.Unauthenticated, await RawCallAsync(gateway, "INTEGRATION_API.OPENAISERVICE", "StreamChat", true, new Metadata()));

        string[] reasons = ["invalid_token", "expired", "not_yet_valid", "unknown_key", "missing", "missing"];
        Assert.Equal(reasons, recorder.Of("integration_api.auth.failures").Select(m => m.Tags["reason"]));
        Assert.All(recorder.Of("integration_api.auth.failures"), m => Assert.Equal(1, m.Value));

        var lines = gateway.Logs.Entries.Where(e => e.Category == typeof(AuthInterceptor).FullName).ToList();
        Assert.Equal(reasons.Length, lines.Count);
        Assert.All(lines, l => Assert.Equal(Microsoft.Extensions.Logging.LogLevel.Warning, l.Level));
        Assert.Equal("Caller authentication refused (invalid_token) on \"/integration_api.OpenAiService/Chat\"", lines[0].Message);
        Assert.Equal("Caller authentication refused (missing) on \"/INTEGRATION_API.OPENAISERVICE/StreamChat\"", lines[^1].Message);
        foreach (var secret in new[] { wrongSecret, expired, notYet, unknownKey, unknownKey["rpd-prj-".Length..], wrongSecret.Split('.')[2] })
            Assert.DoesNotContain(gateway.Logs.Entries, e => e.Message.Contains(secret, StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("/a.B/C", "\"/a.B/C\"")]
    [InlineData("/a\nforged line\"x\\", "\"/a\\u000aforged line\\u0022x\\u005c\"")]
    [InlineData("/caf\u00e9", "\"/caf\\u00e9\"")]
    public void LoggedMethodPath_QuotedAndEscaped(string method, string logged) => Assert.Equal(logged, AuthInterceptor.Quoted(method));

    [Fact]
    public void LoggedMethodPath_Capped() => Assert.Equal("\"" + new string('a', 200) + "…\"", AuthInterceptor.Quoted(new string('a', 5000)));

    /// <summary>A reflection request asking to list services (field 7, an empty string).</summary>
    private static readonly byte[] ListServices = [0x3A, 0x00];

    /// <summary>Calls <c>/{service}/{method}</c> with raw bytes (an empty message unless given) and returns the call's status.</summary>
    private static async Task<StatusCode> RawCallAsync(TestGateway gateway, string service, string method, bool clientStreaming, Metadata headers, byte[]? message = null)
    {
        var marshaller = Marshallers.Create<byte[]>(b => b, b => b);
        var invoker = gateway.Channel.CreateCallInvoker();
        var options = new CallOptions(headers, deadline: DateTime.UtcNow.AddSeconds(10));
        try
        {
            if (clientStreaming)
            {
                using var call = invoker.AsyncDuplexStreamingCall(new Method<byte[], byte[]>(MethodType.DuplexStreaming, service, method, marshaller, marshaller), null, options);
                try
                {
                    await call.RequestStream.WriteAsync(message ?? []);
                    await call.RequestStream.CompleteAsync();
                }
                catch (RpcException) { /* the server may have ended the call already: its status says why */ }
                try { while (await call.ResponseStream.MoveNext(CancellationToken.None)) { } }
                catch (RpcException ex) { return ex.StatusCode; }
                return call.GetStatus().StatusCode;
            }
            using var unary = invoker.AsyncUnaryCall(new Method<byte[], byte[]>(MethodType.Unary, service, method, marshaller, marshaller), null, options, message ?? []);
            await unary.ResponseAsync;
            return StatusCode.OK;
        }
        catch (RpcException ex)
        {
            return ex.StatusCode;
        }
    }
}
