using System.Diagnostics;
using IntegrationApi.Chat;
using IntegrationApi.Engine;
using IntegrationApi.Providers;

namespace IntegrationApi.Telemetry;

/// <summary>
/// The gateway's spans (docs/observability.md, Traces):
/// <code>
///   StreamChat (Internal, one per call) ◄─ link ─┐
///   caller's traceparent (or none: a root) ──► chat {model} (Server on a stream, Internal under a unary call's HTTP span)
///                                                ├─ chat {model} (Client): one per upstream call: each retry, fallback, hedge
///                                                │    └─ HTTP POST (HttpClient instrumentation)
///                                                └─ chat {model} (Client) …
/// </code>
/// Every method takes and returns a nullable <see cref="Activity"/>: without a listener (tracing not configured)
/// <see cref="ActivitySource.StartActivity(string, ActivityKind)"/> returns null and each call is a null check.
/// </summary>
public static class GatewayTracing
{
    /// <summary>The <see cref="ActivitySource"/> name a tracer provider subscribes to.</summary>
    public const string SourceName = "IntegrationApi";

    internal static readonly ActivitySource Source = new(SourceName, typeof(GatewayTracing).Assembly.GetName().Version?.ToString());

    /// <summary>True when some tracer provider listens (tracing is configured).</summary>
    internal static bool Enabled => Source.HasListeners();

    /// <summary>The caller's trace context from its call metadata (<c>traceparent</c>, <c>tracestate</c>), or default.</summary>
    internal static ActivityContext CallerContext(Grpc.Core.Metadata headers)
    {
        if (!Enabled) return default;
        var traceparent = headers.GetValue("traceparent");
        return traceparent is not null && ActivityContext.TryParse(traceparent, headers.GetValue("tracestate"), isRemote: true, out var context)
            ? context : default;
    }

    /// <summary>The span of one StreamChat call, a child of the current (ASP.NET Core) span.</summary>
    internal static Activity? StartStream(string method)
    {
        var span = Source.StartActivity("StreamChat", ActivityKind.Internal);
        span?.SetTag(TraceAttributes.RpcMethod, method);
        return span;
    }

    /// <summary>Ends a stream span with the number of requests it accepted.</summary>
    internal static void EndStream(Activity? span, long accepted, bool failed)
    {
        if (span is null) return;
        span.SetTag(TraceAttributes.StreamRequests, accepted);
        if (failed) span.SetStatus(ActivityStatusCode.Error, "a request message could not be read");
        span.Dispose();
    }

    /// <summary>
    /// A request on a stream: a child of the caller's context when the call carried one, a root otherwise (never a child
    /// of the long-lived stream), linked to <paramref name="stream"/>. It becomes the current activity.
    /// </summary>
    internal static Activity? StartStreamRequest(ActivityContext caller, ActivityContext stream, ulong requestId, string clientRequestId)
    {
        if (!Enabled) return null;
        Activity.Current = null; // without a caller context the request is a root, not a child of whatever is current
        ActivityLink[]? links = stream == default ? null : [new ActivityLink(stream)];
        return Tag(Source.StartActivity(ActivityKind.Server, caller, links: links, name: TraceAttributes.Chat), requestId, clientRequestId);
    }

    /// <summary>A unary request: a child of the current span (the call's HTTP span), else of the caller's context.</summary>
    internal static Activity? StartUnaryRequest(Grpc.Core.Metadata headers, ulong requestId, string clientRequestId)
    {
        if (!Enabled) return null;
        var span = Activity.Current is not null
            ? Source.StartActivity(TraceAttributes.Chat, ActivityKind.Internal)
            : Source.StartActivity(ActivityKind.Internal, CallerContext(headers), name: TraceAttributes.Chat);
        return Tag(span, requestId, clientRequestId);
    }

    private static Activity? Tag(Activity? span, ulong requestId, string clientRequestId)
    {
        if (span is null) return null;
        span.SetTag(TraceAttributes.OperationName, TraceAttributes.Chat);
        span.SetTag(TraceAttributes.RequestId, requestId.ToString(System.Globalization.CultureInfo.InvariantCulture));
        if (clientRequestId.Length > 0) span.SetTag(TraceAttributes.ClientRequestId, clientRequestId);
        return span;
    }

    /// <summary>Names a request span after its primary target once the request is routed.</summary>
    internal static void Routed(Activity? span, IReadOnlyList<ChatTarget> targets)
    {
        if (span is null || targets is not { Count: > 0 }) return;
        var (provider, request) = targets[0];
        span.DisplayName = TraceAttributes.Chat + " " + request.Model;
        span.SetTag(TraceAttributes.ProviderName, ProviderName(provider.Name));
        span.SetTag(TraceAttributes.RequestModel, request.Model);
    }

    /// <summary>Ends a request span with its terminal: the contract code, and what the engine reported when it ran.</summary>
    internal static void EndRequest(Activity? span, int code, ChatOutcome? outcome)
    {
        if (span is null) return;
        span.SetTag(TraceAttributes.ResponseCode, code);
        if (outcome is not null)
        {
            if (outcome.Provider.Length > 0) span.SetTag(TraceAttributes.ProviderName, ProviderName(outcome.Provider));
            if (outcome.Model.Length > 0) span.SetTag(TraceAttributes.ResponseModel, outcome.Model);
            span.SetTag(TraceAttributes.Attempts, outcome.Attempts);
            if (outcome.TimeToFirstToken is { } ttft) span.SetTag(TraceAttributes.TimeToFirstToken, ttft.TotalSeconds);
            if (outcome.Result is { } result) Answered(span, result);
        }
        if (code == ChatErrors.Cancelled) span.SetTag(TraceAttributes.FinishReasons, new[] { ChatFinishReason.Cancelled.Value });
        else if (code != 200) Failed(span, code);
        span.Dispose();
    }

    /// <summary>One upstream call (the first, a retry, a fallback target or a hedge), a child of the current request span; it becomes current, so the HttpClient span nests under it.</summary>
    internal static Activity? StartAttempt(ChatTarget target, int attempt)
    {
        if (!Enabled) return null;
        var span = Source.StartActivity(TraceAttributes.Chat + " " + target.Request.Model, ActivityKind.Client);
        if (span is null) return null;
        span.SetTag(TraceAttributes.OperationName, TraceAttributes.Chat);
        span.SetTag(TraceAttributes.ProviderName, ProviderName(target.Provider.Name));
        span.SetTag(TraceAttributes.RequestModel, target.Request.Model);
        span.SetTag(TraceAttributes.Attempt, attempt);
        return span;
    }

    /// <summary>Ends an attempt that answered.</summary>
    internal static void AttemptSucceeded(Activity? span, ChatTarget target, ChatResult result)
    {
        if (span is null) return;
        span.SetTag(TraceAttributes.AttemptResult, "succeeded");
        span.SetTag(TraceAttributes.ResponseModel, target.Request.Model);
        Answered(span, result);
        span.Dispose();
    }

    /// <summary>Ends an attempt that failed with <paramref name="code"/>; <paramref name="retried"/> when its target tries again.</summary>
    internal static void AttemptFailed(Activity? span, int code, bool retried)
    {
        if (span is null) return;
        span.SetTag(TraceAttributes.AttemptResult, retried ? "retried" : "failed");
        Failed(span, code);
        span.Dispose();
    }

    /// <summary>Ends an attempt that was aborted: a hedge another attempt won, or the request was cancelled.</summary>
    internal static void AttemptCancelled(Activity? span)
    {
        if (span is null) return;
        span.SetTag(TraceAttributes.AttemptResult, "cancelled");
        span.SetTag(TraceAttributes.FinishReasons, new[] { ChatFinishReason.Cancelled.Value });
        span.Dispose();
    }

    private static void Answered(Activity span, ChatResult result)
    {
        span.SetTag(TraceAttributes.FinishReasons, new[] { result.FinishReason.Value });
        if (result.Usage.Input is { } input) span.SetTag(TraceAttributes.InputTokens, input);
        if (result.Usage.Output is { } output) span.SetTag(TraceAttributes.OutputTokens, output);
        if (result.Usage.CachedInput is { } cached) span.SetTag(TraceAttributes.CachedInputTokens, cached);
    }

    /// <summary>Error status with the contract code as <c>error.type</c>; never the message (a provider's error may quote the prompt).</summary>
    private static void Failed(Activity span, int code)
    {
        var type = code.ToString(System.Globalization.CultureInfo.InvariantCulture);
        span.SetTag(TraceAttributes.ErrorType, type);
        span.SetTag(TraceAttributes.FinishReasons, new[] { ChatFinishReason.Error.Value });
        span.SetStatus(ActivityStatusCode.Error, type);
    }

    /// <summary>Our provider name as the GenAI conventions spell it (their well-known values where there is one).</summary>
    internal static string ProviderName(string provider) => provider switch
    {
        ProviderNames.Azure => "azure.ai.openai",
        ProviderNames.Gemini => "gcp.gemini",
        ProviderNames.VertexAI => "gcp.vertex_ai",
        ProviderNames.Mistral => "mistral_ai",
        _ => provider,
    };
}
