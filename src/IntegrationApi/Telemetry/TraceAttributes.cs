namespace IntegrationApi.Telemetry;

/// <summary>
/// Span attribute names: the OpenTelemetry GenAI semantic conventions where they have one, <c>integration_api.*</c> for ours.
/// No attribute ever carries a prompt, a completion, a credential or a header.
/// </summary>
public static class TraceAttributes
{
    public const string OperationName = "gen_ai.operation.name";
    public const string ProviderName = "gen_ai.provider.name";
    public const string RequestModel = "gen_ai.request.model";
    public const string ResponseModel = "gen_ai.response.model";
    public const string InputTokens = "gen_ai.usage.input_tokens";
    public const string OutputTokens = "gen_ai.usage.output_tokens";
    public const string CachedInputTokens = "gen_ai.usage.cache_read.input_tokens";
    public const string FinishReasons = "gen_ai.response.finish_reasons";
    public const string ErrorType = "error.type";

    /// <summary>The value of <see cref="OperationName"/> on every chat span.</summary>
    public const string Chat = "chat";

    /// <summary>Seconds from the start of the request to its first text or tool call.</summary>
    public const string TimeToFirstToken = "integration_api.time_to_first_token";
    /// <summary>The request id the gateway gave the request (echoed on every response).</summary>
    public const string RequestId = "integration_api.request_id";
    /// <summary>The caller's <c>clientRequestId</c>, when it set one.</summary>
    public const string ClientRequestId = "integration_api.client_request_id";
    /// <summary>Upstream calls the request made, over every target (1 plus retries and fallbacks).</summary>
    public const string Attempts = "integration_api.attempts";
    /// <summary>The contract code of the request's terminal response (200, 429, 503, …).</summary>
    public const string ResponseCode = "integration_api.response.code";
    /// <summary>On an attempt span: which upstream call of its target this is (1, then each retry).</summary>
    public const string Attempt = "integration_api.attempt";
    /// <summary>On an attempt span: <c>succeeded</c>, <c>retried</c>, <c>failed</c> or <c>cancelled</c> (an aborted hedge, or the request ended).</summary>
    public const string AttemptResult = "integration_api.attempt.result";
    /// <summary>On a stream span: the requests the stream accepted.</summary>
    public const string StreamRequests = "integration_api.stream.requests";
    /// <summary>The gRPC method of the call (<c>/integration_api.OpenAiService/StreamChat</c>).</summary>
    public const string RpcMethod = "rpc.method";
}
