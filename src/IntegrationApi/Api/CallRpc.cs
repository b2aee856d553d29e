using Google.Protobuf;
using Grpc.Core;
using IntegrationApi.Audit;
using IntegrationApi.Auth;
using IntegrationApi.Chat;
using IntegrationApi.Engine;
using IntegrationApi.Providers;
using Microsoft.Extensions.Options;
using Common = IntegrationApi.Contracts.Common;
using Proto = IntegrationApi.Contracts;

namespace IntegrationApi.Api;

/// <summary>What every non-chat RPC needs, injected once.</summary>
internal sealed record CallRpcServices(
    CallEngine Engine, OperationRegistry Registry, RequestIdGenerator Ids, IPrincipalLimiter Limiter, IOptions<EngineOptions> Options,
    TimeProvider Time, AuditTrail Audit, IHostApplicationLifetime Lifetime, ILoggerFactory Loggers);

/// <summary>A validated non-chat request: the engine's plan, and how its results fill the response.</summary>
internal sealed record PreparedCall<TResponse, TResult>(CallPlan<TResult> Plan, Action<TResponse, IReadOnlyList<TResult>> Fill) where TResult : ICallResult;

/// <summary>
/// The one flow of <c>Embedding</c>, <c>Reranking</c> and <c>GetModeration</c>, as <see cref="UnaryChat"/> is for Chat:
/// 1. a server that is stopping refuses the call (<c>Unavailable</c>); the caller was authenticated by the interceptor;
/// 2. the provider comes from the service, or from <c>providerName</c> on <c>LlmService</c>; the request is validated
///    (a problem is an OK call with <c>code=400</c> naming it) and planned (batches at the provider's limit);
/// 3. the principal's concurrency limit applies (429); the engine runs the plan (retries, timeouts, no partial answers);
/// 4. every call past authentication leaves exactly one audit record, also when cancelled or failed.
/// Subclasses only read their message and write their response.
/// </summary>
internal abstract partial class CallRpc<TRequest, TResponse, TResult>(CallRpcServices services)
    where TRequest : IMessage<TRequest>
    where TResponse : IMessage<TResponse>
    where TResult : ICallResult
{
    private readonly ILogger _logger = services.Loggers.CreateLogger("IntegrationApi.Api.CallRpc");

    protected CallRpcServices Services => services;

    /// <summary>The audit's name of the operation (<c>embedding</c>, <c>reranking</c>, <c>moderation</c>).</summary>
    protected abstract string Operation { get; }

    protected abstract string ProviderNameOf(TRequest request);

    protected abstract Proto.Credential? CredentialOf(TRequest request);

    protected abstract IDictionary<string, string> AdditionalDataOf(TRequest request);

    /// <summary>Validates <paramref name="request"/> for <paramref name="provider"/> and plans its provider calls; problems throw <see cref="ChatRequestException"/>.</summary>
    protected abstract PreparedCall<TResponse, TResult> Prepare(TRequest request, string provider);

    /// <summary>An empty response with its envelope set.</summary>
    protected abstract TResponse NewResponse(int code, bool success, ulong requestId, Common.Error? error, IEnumerable<Common.Metric> metrics);

    /// <summary>The envelope fields of a response.</summary>
    protected abstract (int Code, bool Success, ulong RequestId) EnvelopeOf(TResponse response);

    /// <summary>The response as the audit keeps it (e.g. without the vectors).</summary>
    protected virtual IMessage AuditView(TResponse response) => response;

    /// <summary>
    /// A call refused before its request could be built (a body the HTTP surface cannot read): its audit record, as any
    /// refused call leaves, and the failure to answer with.
    /// </summary>
    public TResponse Refuse(TRequest request, ServerCallContext context, ChatError error)
    {
        var requestId = services.Ids.Next();
        var response = Failure(requestId, error, null);
        Record(AuthInterceptor.PrincipalOf(context), context, request, Cut(ProviderNameOf(request).ToLowerInvariant(), 64), "", response, null);
        return response;
    }

    /// <summary>Answers one call; see the class comment for the steps.</summary>
    public async Task<TResponse> RunAsync(TRequest request, ServerCallContext context, string? serviceProvider)
    {
        if (services.Lifetime.ApplicationStopping.IsCancellationRequested)
            throw new RpcException(new Status(StatusCode.Unavailable, "the server is shutting down"));
        var principal = AuthInterceptor.PrincipalOf(context);
        var requestId = services.Ids.Next();
        var provider = serviceProvider ?? Cut(ProviderNameOf(request).ToLowerInvariant(), 64);
        TResponse response;
        CallOutcome<TResult>? outcome = null;
        var model = "";
        try
        {
            (response, outcome, model) = await AnswerAsync(request, context, serviceProvider, principal, requestId).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (context.CancellationToken.IsCancellationRequested)
        {
            var deadlinePassed = CallDeadline.Passed(context, services.Time);
            var error = deadlinePassed ? ChatErrors.CallDeadlinePassed() : ChatErrors.CancelledByClient();
            Record(principal, context, request, provider, model, Failure(requestId, error, null), null);
            throw new RpcException(deadlinePassed
                ? new Status(StatusCode.DeadlineExceeded, "the call's deadline passed")
                : new Status(StatusCode.Cancelled, "the call was cancelled"));
        }
        catch (Exception ex)
        {
            Log.CallFailed(_logger, requestId, Operation, ex);
            response = Failure(requestId, ChatErrors.InternalError(), null);
        }
        Record(principal, context, request, provider, model, response, outcome);
        return response;
    }

    private async Task<(TResponse, CallOutcome<TResult>?, string Model)> AnswerAsync(TRequest request, ServerCallContext context, string? serviceProvider,
        CallerPrincipal principal, ulong requestId)
    {
        PreparedCall<TResponse, TResult> prepared;
        try { prepared = Prepare(request, Route(request, serviceProvider)); }
        catch (ChatRequestException ex) { return (Failure(requestId, ChatErrors.From(ex), null), null, ""); }
        var model = prepared.Plan.Model;
        await using var lease = await services.Limiter.AcquireAsync(principal, context.CancellationToken).ConfigureAwait(false);
        if (lease.Refusal is { } refused)
            return (Failure(requestId, refused, null), null, model);
        var outcome = await services.Engine.RunAsync(prepared.Plan, requestId, context.CancellationToken).ConfigureAwait(false);
        if (outcome.Error is { } error) return (Failure(requestId, error, outcome), outcome, model);
        var response = NewResponse(200, true, requestId, null, Metrics(requestId, outcome));
        prepared.Fill(response, outcome.Results!);
        return (response, outcome, model);
    }

    /// <summary>The provider this call runs on: the service's own, or <c>providerName</c> on <c>LlmService</c>.</summary>
    private string Route(TRequest request, string? serviceProvider)
    {
        var named = ProviderNameOf(request);
        if (serviceProvider is null)
            return named.Length > 0 ? named.ToLowerInvariant() : throw new ChatRequestException($"providerName is required ({string.Join(", ", ProviderNames.All)})");
        if (named.Length > 0 && !named.Equals(serviceProvider, StringComparison.OrdinalIgnoreCase))
            throw new ChatRequestException($"providerName \"{ProtoJson.Printable(named)}\" does not match this service ({serviceProvider}); use LlmService to pick a provider per request");
        return serviceProvider;
    }

    private TResponse Failure(ulong requestId, ChatError error, CallOutcome<TResult>? outcome) =>
        NewResponse(error.Code, false, requestId, new Common.Error { ErrorCode = (ulong)error.Code, ErrorMessage = error.Message, HumanMessage = error.HumanMessage },
            Metrics(requestId, outcome));

    /// <summary>The metrics of contract §10: request id, status, time taken, and the provider's token counts where reported.</summary>
    private static IEnumerable<Common.Metric> Metrics(ulong requestId, CallOutcome<TResult>? outcome)
    {
        yield return Metric(Proto.MetricNames.RequestId, requestId);
        if (outcome is null) yield break;
        yield return new Common.Metric { Name = Proto.MetricNames.Status, Value = outcome.Succeeded ? Proto.MetricNames.StatusSuccess : Proto.MetricNames.StatusFailed };
        yield return Metric(Proto.MetricNames.TimeTaken, (ulong)(outcome.Elapsed.Ticks * 100));
        if (outcome.Usage?.Input is { } input) yield return Metric(Proto.MetricNames.InputTokens, (ulong)input);
        if (outcome.Usage?.Total is { } total) yield return Metric(Proto.MetricNames.TotalTokens, (ulong)total);
    }

    private static Common.Metric Metric(string name, ulong value) => new() { Name = name, Value = value.ToString(System.Globalization.CultureInfo.InvariantCulture) };

    private void Record(CallerPrincipal principal, ServerCallContext context, TRequest request, string provider, string model, TResponse response, CallOutcome<TResult>? outcome)
    {
        var (code, success, requestId) = EnvelopeOf(response);
        services.Audit.RecordCall(new CallAuditEntry
        {
            Principal = principal,
            CallTags = AuditTrail.CallTags(context.RequestHeaders),
            Operation = Operation,
            Provider = provider,
            Model = model,
            RequestId = requestId,
            CredentialId = CredentialOf(request)?.Id ?? 0,
            AdditionalData = AdditionalDataOf(request),
            Code = code,
            Success = success,
            Elapsed = outcome?.Elapsed,
            Usage = outcome?.Usage,
            Request = request,
            Response = AuditView(response),
        });
    }


    private static string Cut(string text, int max) => text.Length <= max ? text : text[..max];

    private static partial class Log
    {
        [LoggerMessage(22, LogLevel.Error, "{Operation} request {RequestId} failed unexpectedly")]
        public static partial void CallFailed(ILogger logger, ulong requestId, string operation, Exception exception);
    }
}
