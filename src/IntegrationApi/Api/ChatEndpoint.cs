using Grpc.Core;
using IntegrationApi.Auth;
using IntegrationApi.Chat;
using IntegrationApi.Providers;
using IntegrationApi.Streaming;
using Microsoft.Extensions.Options;
using Proto = IntegrationApi.Contracts;

namespace IntegrationApi.Api;

/// <summary>The one implementation of <c>Chat</c> and <c>StreamChat</c> behind every provider service and <c>LlmService</c>.</summary>
internal sealed partial class ChatEndpoint(
    ChatEngine engine, ChatRouting routing, RequestIdGenerator ids, IOptions<EngineOptions> options,
    TimeProvider time, Metrics.GatewayMetrics metrics, PrincipalLimiter principalLimiter, AuditTrail audit,
    CallerAuthenticator authenticator, IHostApplicationLifetime lifetime, ILogger<StreamChatSession> sessionLogger, ILogger<ChatEndpoint> logger)
{
    private static readonly Func<string, CancellationToken, ValueTask> IgnoreText = static (_, _) => ValueTask.CompletedTask;

    /// <summary>
    /// Unary chat: the same engine, answering with what a stream would send as the terminal response. Every call that
    /// got past authentication leaves exactly one audit record, also when it is cancelled, passes its deadline or fails.
    /// </summary>
    public async Task<Proto.ChatResponse> ChatAsync(Proto.ChatRequest request, ServerCallContext context, string? serviceProvider)
    {
        EnsureAvailable(serviceProvider);
        if (lifetime.ApplicationStopping.IsCancellationRequested)
            throw new RpcException(new Status(StatusCode.Unavailable, "the server is shutting down"));
        var principal = AuthInterceptor.PrincipalOf(context);
        var requestId = ids.Next();
        Proto.ChatResponse response;
        try
        {
            response = await AnswerAsync(request, context, serviceProvider, principal, requestId).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (context.CancellationToken.IsCancellationRequested)
        {
            var deadlinePassed = context.Deadline <= time.GetUtcNow().UtcDateTime;
            var error = deadlinePassed ? ChatErrors.CallDeadlinePassed() : ChatErrors.CancelledByClient();
            audit.Record(principal, AuditTrail.CallTags(context.RequestHeaders), serviceProvider, request,
                ProtoMapping.Failure(requestId, request.ClientRequestId, error));
            throw new RpcException(deadlinePassed
                ? new Status(StatusCode.DeadlineExceeded, "the call's deadline passed")
                : new Status(StatusCode.Cancelled, "the call was cancelled"));
        }
        catch (Exception ex)
        {
            Log.UnaryFailed(logger, requestId, ex);
            response = ProtoMapping.Failure(requestId, request.ClientRequestId, ChatErrors.InternalError());
        }
        audit.Record(principal, AuditTrail.CallTags(context.RequestHeaders), serviceProvider, request, response);
        return response;
    }

    private async Task<Proto.ChatResponse> AnswerAsync(Proto.ChatRequest request, ServerCallContext context, string? serviceProvider,
        CallerPrincipal principal, ulong requestId)
    {
        if (request.Action != Proto.ChatAction.Chat)
            return ProtoMapping.Failure(requestId, request.ClientRequestId, ChatErrors.From(new ChatRequestException("action must be CHAT on unary Chat (CANCEL is for StreamChat)")));
        PreparedRequest prepared;
        try { prepared = routing.Prepare(request, serviceProvider); }
        catch (ChatRequestException ex) { return ProtoMapping.Failure(requestId, request.ClientRequestId, ChatErrors.From(ex)); }
        using var lease = principalLimiter.TryAcquire(principal);
        if (lease is null)
            return ProtoMapping.Failure(requestId, request.ClientRequestId,
                ChatErrors.RateLimited($"more than {options.Value.MaxConcurrentRequestsPerPrincipal} requests running for this project"));
        var outcome = await engine.RunAsync(prepared.Provider, prepared.Request, requestId, IgnoreText, context.CancellationToken).ConfigureAwait(false);
        return ProtoMapping.Terminal(outcome, request.ClientRequestId);
    }

    /// <summary>
    /// Checks a credential with the provider's cheapest authenticated call (the original answered "valid"
    /// without asking for several providers). Failures are an OK call with <c>success=false</c>, as in the original.
    /// </summary>
    public async Task<Proto.VerifyCredentialResponse> VerifyCredentialAsync(Proto.VerifyCredentialRequest request, ServerCallContext context, string provider)
    {
        EnsureAvailable(provider);
        var verifier = routing.Verifier(provider) ?? throw new RpcException(new Status(StatusCode.Unimplemented, $"{provider} cannot verify credentials"));
        var requestId = ids.Next();
        ProviderCredential? credential = null;
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(context.CancellationToken);
        timeout.CancelAfter(VerifyTimeout);
        try
        {
            credential = ProtoMapping.ToCredential(request.Credential);
            await verifier.VerifyAsync(credential, timeout.Token).ConfigureAwait(false);
            return new Proto.VerifyCredentialResponse { Code = 200, Success = true, RequestId = requestId, Response = "valid" };
        }
        catch (Exception ex) when (ex is ProviderException or ChatRequestException
            || (ex is OperationCanceledException && !context.CancellationToken.IsCancellationRequested))
        {
            var error = ex switch
            {
                ProviderException p => ChatErrors.From(p),
                ChatRequestException r => ChatErrors.From(r),
                _ => ChatErrors.TimedOut("credential check", VerifyTimeout),
            };
            var message = credential?.RedactAndTruncate(error.Message) ?? error.Message;
            return new Proto.VerifyCredentialResponse { Code = error.Code, Success = false, RequestId = requestId, ErrorMessage = message };
        }
        catch (Exception ex) when (!context.CancellationToken.IsCancellationRequested)
        {
            Log.VerifyFailed(logger, requestId, ex);
            var error = ChatErrors.InternalError();
            return new Proto.VerifyCredentialResponse { Code = error.Code, Success = false, RequestId = requestId, ErrorMessage = error.Message };
        }
    }

    private static readonly TimeSpan VerifyTimeout = TimeSpan.FromSeconds(30);

    /// <summary>Bidirectional chat: one <see cref="StreamChatSession"/> per call.</summary>
    public Task StreamChatAsync(IAsyncStreamReader<Proto.ChatRequest> requests, IServerStreamWriter<Proto.ChatResponse> responses,
        ServerCallContext context, string? serviceProvider)
    {
        EnsureAvailable(serviceProvider);
        var session = new StreamChatSession(engine, routing, ids, options.Value, time, metrics, principalLimiter, audit, authenticator, sessionLogger,
            requests, responses, context, AuthInterceptor.PrincipalOf(context), serviceProvider);
        return session.RunAsync(lifetime.ApplicationStopping);
    }

    private static partial class Log
    {
        [LoggerMessage(20, LogLevel.Error, "Unary request {RequestId} failed unexpectedly")]
        public static partial void UnaryFailed(ILogger logger, ulong requestId, Exception exception);

        [LoggerMessage(21, LogLevel.Error, "Credential check {RequestId} failed unexpectedly")]
        public static partial void VerifyFailed(ILogger logger, ulong requestId, Exception exception);
    }

    private void EnsureAvailable(string? serviceProvider)
    {
        if (serviceProvider is not null && !routing.IsAvailable(serviceProvider))
            throw new RpcException(new Status(StatusCode.Unimplemented, $"provider \"{serviceProvider}\" is not available on this server yet"));
    }
}
