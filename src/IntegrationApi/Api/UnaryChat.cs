using System.Diagnostics;
using Grpc.Core;
using IntegrationApi.Audit;
using IntegrationApi.Auth;
using IntegrationApi.Chat;
using IntegrationApi.Engine;
using IntegrationApi.Telemetry;
using Microsoft.Extensions.Options;
using Proto = IntegrationApi.Contracts;

namespace IntegrationApi.Api;

/// <summary><c>Chat</c> of every service: the engine run for one request, answered with what a stream's terminal would be.</summary>
internal sealed partial class UnaryChat(
    ChatEngine engine, ChatRouting routing, RequestIdGenerator ids, TimeProvider time,
    IPrincipalLimiter principalLimiter, AuditTrail audit, IHostApplicationLifetime lifetime, ILogger<UnaryChat> logger,
    Pricing.CallPricer? pricer = null)
{
    private static readonly Func<string, CancellationToken, ValueTask> IgnoreText = static (_, _) => ValueTask.CompletedTask;

    /// <summary>
    /// Unary chat: the same engine, answering with what a stream would send as the terminal response. Every call that
    /// got past authentication leaves exactly one audit record, also when it is cancelled, passes its deadline or fails.
    /// </summary>
    public async Task<Proto.ChatResponse> ChatAsync(Proto.ChatRequest request, ServerCallContext context, string? serviceProvider)
    {
        if (lifetime.ApplicationStopping.IsCancellationRequested)
            throw new RpcException(new Status(StatusCode.Unavailable, "the server is shutting down"));
        var principal = AuthInterceptor.PrincipalOf(context);
        var requestId = ids.Next();
        using var span = GatewayTracing.StartUnaryRequest(context.RequestHeaders, requestId, request.ClientRequestId);
        Proto.ChatResponse response;
        ChatOutcome? outcome = null;
        try
        {
            (response, outcome) = await AnswerAsync(request, context, serviceProvider, principal, requestId, span).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (context.CancellationToken.IsCancellationRequested)
        {
            var deadlinePassed = CallDeadline.Passed(context, time);
            var error = deadlinePassed ? ChatErrors.CallDeadlinePassed() : ChatErrors.CancelledByClient();
            audit.Record(principal, AuditTrail.CallTags(context.RequestHeaders), serviceProvider, request,
                ProtoMapping.Failure(requestId, request.ClientRequestId, error));
            GatewayTracing.EndRequest(span, error.Code, null);
            throw new RpcException(deadlinePassed
                ? new Status(StatusCode.DeadlineExceeded, "the call's deadline passed")
                : new Status(StatusCode.Cancelled, "the call was cancelled"));
        }
        catch (Exception ex)
        {
            Log.UnaryFailed(logger, requestId, ex);
            response = ProtoMapping.Failure(requestId, request.ClientRequestId, ChatErrors.InternalError());
        }
        audit.Record(principal, AuditTrail.CallTags(context.RequestHeaders), serviceProvider, request, response, outcome);
        GatewayTracing.EndRequest(span, response.Code, outcome);
        return response;
    }

    private async Task<(Proto.ChatResponse Response, ChatOutcome? Outcome)> AnswerAsync(Proto.ChatRequest request, ServerCallContext context, string? serviceProvider,
        CallerPrincipal principal, ulong requestId, Activity? span)
    {
        if (request.Action != Proto.ChatAction.Chat)
            return (ProtoMapping.Failure(requestId, request.ClientRequestId, ChatErrors.From(new ChatRequestException("action must be CHAT on unary Chat (CANCEL is for StreamChat)"))), null);
        PreparedRequest prepared;
        try { prepared = routing.Prepare(request, serviceProvider); }
        catch (ChatRequestException ex) { return (ProtoMapping.Failure(requestId, request.ClientRequestId, ChatErrors.From(ex)), null); }
        GatewayTracing.Routed(span, prepared.Targets);
        await using var lease = await principalLimiter.AcquireAsync(principal, context.CancellationToken).ConfigureAwait(false);
        if (lease.Refusal is { } refused) return (ProtoMapping.Failure(requestId, request.ClientRequestId, refused), null);
        if (pricer?.OverBudget(principal) is { } overBudget) return (ProtoMapping.Failure(requestId, request.ClientRequestId, overBudget), null);
        var outcome = await engine.RunAsync(prepared.Targets, prepared.HedgeAfter, requestId, IgnoreText, context.CancellationToken).ConfigureAwait(false);
        if (pricer is not null) outcome = pricer.Price(principal, outcome);
        return (ProtoMapping.Terminal(outcome, request.ClientRequestId), outcome);
    }

    private static partial class Log
    {
        [LoggerMessage(20, LogLevel.Error, "Unary request {RequestId} failed unexpectedly")]
        public static partial void UnaryFailed(ILogger logger, ulong requestId, Exception exception);
    }
}
