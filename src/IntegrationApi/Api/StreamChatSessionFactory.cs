using Grpc.Core;
using IntegrationApi.Audit;
using IntegrationApi.Auth;
using IntegrationApi.Engine;
using Microsoft.Extensions.Options;
using Proto = IntegrationApi.Contracts;

namespace IntegrationApi.Api;

/// <summary><c>StreamChat</c> of every service: what all sessions share, and one <see cref="StreamChatSession"/> per call.</summary>
internal sealed class StreamChatSessionFactory(
    ChatEngine engine, ChatRouting routing, RequestIdGenerator ids, IOptions<EngineOptions> options, TimeProvider time,
    Metrics.GatewayMetrics metrics, IPrincipalLimiter principalLimiter, AuditTrail audit, CallerAuthenticator authenticator,
    IHostApplicationLifetime lifetime, ILogger<StreamChatSession> logger, Pricing.CallPricer? pricer = null)
{
    public ChatEngine Engine => engine;
    public ChatRouting Routing => routing;
    public RequestIdGenerator Ids => ids;
    public EngineOptions Options => options.Value;
    public TimeProvider Time => time;
    public Metrics.GatewayMetrics Metrics => metrics;
    public IPrincipalLimiter PrincipalLimiter => principalLimiter;
    public AuditTrail Audit => audit;
    public CallerAuthenticator Authenticator => authenticator;
    /// <summary>Prices answers and enforces budgets, when pricing is configured.</summary>
    public Pricing.CallPricer? Pricer => pricer;
    public ILogger Logger => logger;

    /// <summary>Serves one bidirectional call until it ends; <paramref name="serviceProvider"/> is null on <c>LlmService</c>.</summary>
    public Task StreamChatAsync(IAsyncStreamReader<Proto.ChatRequest> requests, IServerStreamWriter<Proto.ChatResponse> responses,
        ServerCallContext context, string? serviceProvider) =>
        new StreamChatSession(this, requests, responses, context, AuthInterceptor.PrincipalOf(context), serviceProvider)
            .RunAsync(lifetime.ApplicationStopping);
}
