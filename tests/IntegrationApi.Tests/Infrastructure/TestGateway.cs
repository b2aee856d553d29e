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

    private TestGateway(WebApplication app, OpenAIFake openAI, AnthropicFake anthropic, CapturingLoggerProvider logs, string address)
    {
        (App, OpenAI, Anthropic, Logs) = (app, openAI, anthropic, logs);
        Channel = GrpcChannel.ForAddress(address, new GrpcChannelOptions { MaxReceiveMessageSize = 64 * 1024 * 1024 });
    }

    public WebApplication App { get; }
    public OpenAIFake OpenAI { get; }
    public AnthropicFake Anthropic { get; }
    public CapturingLoggerProvider Logs { get; }
    public GrpcChannel Channel { get; }

    /// <summary>Error logs a test expects (e.g. from a deliberately broken request); others fail the test.</summary>
    public bool AllowErrorLogs { get; set; }

    /// <summary>The fake behind <paramref name="provider"/>.</summary>
    public FakeProviderServer Fake(string provider) => provider == "anthropic" ? Anthropic : OpenAI;

    /// <summary>Starts fakes and service; <paramref name="settings"/> overrides configuration keys (e.g. <c>Engine:IdleTimeout</c>).</summary>
    public static async Task<TestGateway> StartAsync(IDictionary<string, string?>? settings = null, TimeProvider? time = null)
    {
        var openAI = await OpenAIFake.StartNewAsync();
        var anthropic = await AnthropicFake.StartNewAsync();
        var logs = new CapturingLoggerProvider();
        var config = new Dictionary<string, string?>
        {
            ["Kestrel:Endpoints:Grpc:Url"] = "http://127.0.0.1:0",
            ["Providers:OpenAI:BaseUrl"] = openAI.BaseUrl,
            ["Providers:Anthropic:BaseUrl"] = anthropic.BaseUrl,
            ["Auth:JwtSecret"] = JwtSecret,
            ["Auth:ApiKeys:0:Sha256"] = CallerAuthenticator.HashKey(ApiKey["rpd-prj-".Length..]),
            ["Auth:ApiKeys:0:OrganizationId"] = "7",
            ["Auth:ApiKeys:0:ProjectId"] = "8",
            ["Engine:RetryBaseDelay"] = "00:00:00.010",
        };
        foreach (var (k, v) in settings ?? new Dictionary<string, string?>()) config[k] = v;
        var app = IntegrationApiApp.Create(["--environment", "Testing"], builder =>
        {
            builder.Configuration.AddInMemoryCollection(config);
            builder.Logging.ClearProviders();
            builder.Logging.SetMinimumLevel(LogLevel.Debug);
            builder.Logging.AddProvider(logs);
            if (time is not null) builder.Services.AddSingleton(time);
        });
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new TestGateway(app, openAI, anthropic, logs, address);
    }

    /// <summary>Call metadata carrying a valid service JWT.</summary>
    public static Grpc.Core.Metadata AuthHeaders(DateTimeOffset? expires = null) =>
        new() { { CallerAuthenticator.ServiceKeyHeader, TestTokens.Jwt(JwtSecret, 1, 2, 3, expires ?? DateTimeOffset.UtcNow.AddHours(1)) } };

    public Proto.OpenAiService.OpenAiServiceClient OpenAIClient => new(Channel);
    public Proto.AnthropicService.AnthropicServiceClient AnthropicClient => new(Channel);
    public Proto.LlmService.LlmServiceClient LlmClient => new(Channel);

    /// <summary>Opens a StreamChat on the service of <paramref name="provider"/> (or LlmService for null).</summary>
    public ChatStream OpenStream(string? provider, Grpc.Core.Metadata? headers = null, CancellationToken cancellationToken = default)
    {
        headers ??= AuthHeaders();
        var call = provider switch
        {
            "openai" => OpenAIClient.StreamChat(headers, cancellationToken: cancellationToken),
            "anthropic" => AnthropicClient.StreamChat(headers, cancellationToken: cancellationToken),
            _ => LlmClient.StreamChat(headers, cancellationToken: cancellationToken),
        };
        return new ChatStream(call);
    }

    /// <summary>Unary Chat on the service of <paramref name="provider"/>.</summary>
    public Task<Proto.ChatResponse> ChatAsync(string provider, Proto.ChatRequest request, Grpc.Core.Metadata? headers = null) =>
        (provider == "anthropic"
            ? AnthropicClient.ChatAsync(request, headers ?? AuthHeaders())
            : OpenAIClient.ChatAsync(request, headers ?? AuthHeaders())).ResponseAsync;

    public async ValueTask DisposeAsync()
    {
        Channel.Dispose();
        using (var stop = new CancellationTokenSource(TimeSpan.FromSeconds(5))) await App.StopAsync(stop.Token);
        await App.DisposeAsync();
        await OpenAI.DisposeAsync();
        await Anthropic.DisposeAsync();
        if (!AllowErrorLogs)
        {
            var errors = Logs.Entries.Where(e => e.Level >= LogLevel.Error).Select(e => e.Category + ": " + e.Message).ToArray();
            Assert.True(errors.Length == 0, "Unexpected error logs:\n" + string.Join("\n", errors));
        }
    }
}
