using Google.Protobuf;
using Grpc.Net.Client;
using IntegrationApi.Auth;
using IntegrationApi.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Proto = IntegrationApi.Contracts;

namespace IntegrationApi.Tests.Infrastructure;

/// <summary>
/// The real service on Kestrel (loopback, port 0) wired to real loopback fakes of OpenAI and Anthropic,
/// plus a gRPC channel to it. Disposing fails the test if the service logged an unexpected error.
/// </summary>
public sealed class TestGateway : IAsyncDisposable
{
    public const string JwtSecret = "test-jwt-secret-that-is-long-enough-0123456789";
    public const string ApiKey = "rpd-prj-test-api-key";

    private readonly IReadOnlyDictionary<string, FakeProviderServer> _fakes;

    private TestGateway(WebApplication app, IReadOnlyDictionary<string, FakeProviderServer> fakes, CapturingLoggerProvider logs, string address)
    {
        (App, _fakes, Logs) = (app, fakes, logs);
        Channel = GrpcChannel.ForAddress(address, new GrpcChannelOptions { MaxReceiveMessageSize = 64 * 1024 * 1024 });
    }

    public WebApplication App { get; }

    /// <summary>The audit store the service writes to.</summary>
    public Audit.IAuditStore AuditStore => App.Services.GetRequiredService<Audit.IAuditStore>();

    /// <summary>The HTTP/1.1 endpoint of /metrics, /healthz and /readiness.</summary>
    public string HttpAddress { get; private init; } = "";
    /// <summary>The HTTP/1.1 endpoint of the OpenAI-compatible surface (<c>/v1/chat/completions</c>).</summary>
    public string OpenAIAddress { get; private init; } = "";
    public OpenAIFake OpenAI => (OpenAIFake)_fakes["openai"];
    public AnthropicFake Anthropic => (AnthropicFake)_fakes["anthropic"];
    public CapturingLoggerProvider Logs { get; }
    public GrpcChannel Channel { get; }

    /// <summary>Error logs a test expects (e.g. from a deliberately broken request); others fail the test.</summary>
    public bool AllowErrorLogs { get; set; }

    /// <summary>The fake behind <paramref name="provider"/>.</summary>
    public FakeProviderServer Fake(string provider) => _fakes[provider];

    /// <summary>A one-turn chat request carrying the credential shape <paramref name="provider"/> takes, pointed at its fake.</summary>
    public Proto.ChatRequest NewChat(string provider, string prompt, string clientRequestId = "", string key = "test-key")
    {
        var request = TestRequests.NewChat(provider, prompt, clientRequestId, key);
        request.Credential = TestRequests.Credential(provider, key, _fakes[provider]);
        return request;
    }

    /// <summary>Starts fakes and service; <paramref name="settings"/> overrides configuration keys (e.g. <c>Engine:IdleTimeout</c>).</summary>
    public static async Task<TestGateway> StartAsync(IDictionary<string, string?>? settings = null, TimeProvider? time = null, Action<IServiceCollection>? services = null,
        string environment = "Testing")
    {
        var fakes = TestProviders.All.ToDictionary(p => p.Name, p => p.NewFake());
        await Task.WhenAll(fakes.Values.Select(f => f.StartAsync()));
        var logs = new CapturingLoggerProvider();
        var config = new Dictionary<string, string?>
        {
            ["Kestrel:Endpoints:Grpc:Url"] = "http://127.0.0.1:0",
            ["Kestrel:Endpoints:Http:Url"] = "http://127.0.0.1:0",
            ["Kestrel:Endpoints:OpenAI:Url"] = "http://127.0.0.1:0",
            ["Auth:JwtSecret"] = JwtSecret,
            ["Auth:ApiKeys:0:Sha256"] = CallerAuthenticator.HashKey(ApiKey["rpd-prj-".Length..]),
            ["Auth:ApiKeys:0:OrganizationId"] = "7",
            ["Auth:ApiKeys:0:ProjectId"] = "8",
            ["Engine:RetryBaseDelay"] = "00:00:00.010",
            ["Audit:SqlitePath"] = Path.Combine(Path.GetTempPath(), "integration-api-tests", $"audit-{Guid.NewGuid():N}.db"),
            ["Auth:KeyStorePath"] = Path.Combine(Path.GetTempPath(), "integration-api-tests", $"keys-{Guid.NewGuid():N}.db"),
        };
        foreach (var provider in TestProviders.All)
            foreach (var (k, v) in provider.Settings(fakes[provider.Name])) config[k] = v;
        foreach (var (k, v) in settings ?? new Dictionary<string, string?>()) config[k] = v;
        var app = IntegrationApiApp.Create(["--environment", environment], builder =>
        {
            builder.Configuration.AddInMemoryCollection(config);
            builder.Logging.ClearProviders();
            builder.Logging.SetMinimumLevel(LogLevel.Debug);
            builder.Logging.AddProvider(logs);
            if (time is not null) builder.Services.AddSingleton(time);
            services?.Invoke(builder.Services);
        });
        await app.StartAsync();
        // Kestrel binds configured endpoints in key order: "Grpc" (HTTP/2) before "Http" (HTTP/1.1: metrics, health)
        // before "OpenAI" (HTTP/1.1: the OpenAI-compatible surface).
        var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.ToArray();
        return new TestGateway(app, fakes, logs, addresses[0]) { HttpAddress = addresses[1], OpenAIAddress = addresses.Length > 2 ? addresses[2] : "" };
    }

    /// <summary>Call metadata carrying a valid service JWT.</summary>
    public static Grpc.Core.Metadata AuthHeaders(DateTimeOffset? expires = null) =>
        new() { { CallerAuthenticator.ServiceKeyHeader, TestTokens.Jwt(JwtSecret, 1, 2, 3, expires ?? DateTimeOffset.UtcNow.AddHours(1)) } };

    public Proto.OpenAiService.OpenAiServiceClient OpenAIClient => new(Channel);

    /// <summary>The gRPC service of <paramref name="provider"/>, or LlmService for null.</summary>
    public static string ServiceName(string? provider) => provider is null ? "LlmService" : TestProviders.Get(provider).ServiceName;

    private static Grpc.Core.Method<TRequest, TResponse> Method<TRequest, TResponse>(Grpc.Core.MethodType type, string? provider, string name)
        where TRequest : class, Google.Protobuf.IMessage<TRequest>, new()
        where TResponse : class, Google.Protobuf.IMessage<TResponse>, new() =>
        new(type, "integration_api." + ServiceName(provider), name,
            Grpc.Core.Marshallers.Create(m => m.ToByteArray(), Parser<TRequest>.Parse),
            Grpc.Core.Marshallers.Create(m => m.ToByteArray(), Parser<TResponse>.Parse));

    private static class Parser<T> where T : class, Google.Protobuf.IMessage<T>, new()
    {
        private static readonly Google.Protobuf.MessageParser<T> Instance = new(() => new T());
        public static T Parse(byte[] bytes) => Instance.ParseFrom(bytes);
    }

    /// <summary>Opens a StreamChat on the service of <paramref name="provider"/> (or LlmService for null).</summary>
    public ChatStream OpenStream(string? provider, Grpc.Core.Metadata? headers = null, CancellationToken cancellationToken = default) =>
        new(Channel.CreateCallInvoker().AsyncDuplexStreamingCall(
            Method<Proto.ChatRequest, Proto.ChatResponse>(Grpc.Core.MethodType.DuplexStreaming, provider, "StreamChat"),
            null, new Grpc.Core.CallOptions(headers ?? AuthHeaders(), cancellationToken: cancellationToken)));

    /// <summary>Unary Chat on the service of <paramref name="provider"/>.</summary>
    public Task<Proto.ChatResponse> ChatAsync(string provider, Proto.ChatRequest request, Grpc.Core.Metadata? headers = null) =>
        UnaryAsync<Proto.ChatRequest, Proto.ChatResponse>(provider, "Chat", request, headers);

    /// <summary>VerifyCredential on the service of <paramref name="provider"/>.</summary>
    public Task<Proto.VerifyCredentialResponse> VerifyCredentialAsync(string provider, Proto.VerifyCredentialRequest request) =>
        UnaryAsync<Proto.VerifyCredentialRequest, Proto.VerifyCredentialResponse>(provider, "VerifyCredential", request, null);

    /// <summary>Any unary RPC (Embedding, Reranking, GetModeration, …) on the service of <paramref name="provider"/> (LlmService for null).</summary>
    public Task<TResponse> CallAsync<TRequest, TResponse>(string? provider, string method, TRequest request, Grpc.Core.Metadata? headers = null,
        CancellationToken cancellationToken = default)
        where TRequest : class, Google.Protobuf.IMessage<TRequest>, new()
        where TResponse : class, Google.Protobuf.IMessage<TResponse>, new() =>
        Channel.CreateCallInvoker().AsyncUnaryCall(
            Method<TRequest, TResponse>(Grpc.Core.MethodType.Unary, provider, method), null,
            new Grpc.Core.CallOptions(headers ?? AuthHeaders(), cancellationToken: cancellationToken), request).ResponseAsync;

    private Task<TResponse> UnaryAsync<TRequest, TResponse>(string provider, string method, TRequest request, Grpc.Core.Metadata? headers)
        where TRequest : class, Google.Protobuf.IMessage<TRequest>, new()
        where TResponse : class, Google.Protobuf.IMessage<TResponse>, new() =>
        Channel.CreateCallInvoker().AsyncUnaryCall(
            Method<TRequest, TResponse>(Grpc.Core.MethodType.Unary, provider, method), null,
            new Grpc.Core.CallOptions(headers ?? AuthHeaders()), request).ResponseAsync;

    public async ValueTask DisposeAsync()
    {
        Channel.Dispose();
        using (var stop = new CancellationTokenSource(TimeSpan.FromSeconds(5))) await App.StopAsync(stop.Token);
        await App.DisposeAsync();
        foreach (var fake in _fakes.Values) await fake.DisposeAsync();
        // Every test is also a secret grep: the caller secrets and provider keys it used never reach a log line.
        string[] secrets = [JwtSecret, ApiKey, ApiKey["rpd-prj-".Length..], "test-key"];
        var leaked = Logs.Entries.Where(e => secrets.Any(secret => e.Message.Contains(secret, StringComparison.Ordinal))).Select(e => e.Message).ToArray();
        Assert.True(leaked.Length == 0, "Secrets in the logs:\n" + string.Join("\n", leaked));
        if (!AllowErrorLogs)
        {
            var errors = Logs.Entries.Where(e => e.Level >= LogLevel.Error).Select(e => e.Category + ": " + e.Message).ToArray();
            Assert.True(errors.Length == 0, "Unexpected error logs:\n" + string.Join("\n", errors));
        }
    }
}
