using System.Diagnostics;
using System.Diagnostics.Metrics;
using IntegrationApi.Auth;
using IntegrationApi.Chat;
using Microsoft.Extensions.Options;

namespace IntegrationApi.Metrics;

/// <summary>
/// The service's instruments (meter <c>IntegrationApi</c>, exported for Prometheus at <c>/metrics</c>; docs/observability.md).
/// Tags are bounded: provider names, contract codes, fixed reasons, and the model name through the allow-list of
/// <see cref="MetricsOptions.Models"/> (others <c>other</c>). Histograms carry their bucket boundaries as advice, so every
/// exporter uses them.
/// </summary>
public sealed partial class GatewayMetrics
{
    public const string MeterName = "IntegrationApi";

    /// <summary>Seconds to a first token: 5 ms … 60 s (the default first-token timeout).</summary>
    public static IReadOnlyList<double> TimeToFirstTokenBuckets { get; } = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 0.75, 1, 1.5, 2, 3, 5, 7.5, 10, 15, 20, 30, 45, 60];

    /// <summary>Seconds a request took, retries included: 10 ms … 10 min (the default total timeout).</summary>
    public static IReadOnlyList<double> RequestDurationBuckets { get; } = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120, 180, 300, 600];

    /// <summary>Seconds a StreamChat call lasted: 1 s … 24 h.</summary>
    public static IReadOnlyList<double> StreamDurationBuckets { get; } = [1, 5, 15, 30, 60, 300, 900, 1800, 3600, 7200, 14400, 28800, 43200, 86400];

    /// <summary>Chat requests one StreamChat call carried.</summary>
    public static IReadOnlyList<long> RequestsPerStreamBuckets { get; } = [0, 1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 50000, 100000];

    /// <summary>Tokens of one request, one direction (the GenAI semantic conventions' advice: powers of 4 up to 64 Mi).</summary>
    public static IReadOnlyList<long> TokenUsageBuckets { get; } = [1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864];

    private readonly ModelTag _model;
    private readonly Counter<long> _authFailures;
    private readonly Histogram<long> _genAiTokens;
    private readonly Histogram<double> _genAiDuration;
    private readonly Histogram<double> _genAiTimeToFirstToken;

    private readonly UpDownCounter<long> _openStreams;
    private readonly Histogram<double> _streamDuration;
    private readonly Histogram<long> _requestsPerStream;
    private readonly Counter<long> _messagesReceived;
    private readonly Counter<long> _messagesSent;
    private readonly Counter<long> _requests;
    private readonly Histogram<double> _requestDuration;
    private readonly Histogram<double> _timeToFirstToken;
    private readonly Counter<long> _tokens;
    private readonly Counter<long> _retries;
    private readonly Counter<long> _attempts;
    private readonly Counter<long> _cancels;
    private readonly UpDownCounter<long> _queued;
    private readonly Counter<long> _auditWritten;
    private readonly Counter<long> _auditDropped;
    private readonly Counter<long> _auditSpooled;
    private readonly Counter<long> _auditRedelivered;

    public GatewayMetrics(IMeterFactory meters, IOptions<MetricsOptions> options)
    {
        _model = new ModelTag(options.Value.EffectiveModels);
        var meter = meters.Create(MeterName);
        _openStreams = meter.CreateUpDownCounter<long>("integration_api.streams.open", description: "StreamChat calls open now");
        _streamDuration = meter.CreateHistogram("integration_api.stream.duration", "s", "How long StreamChat calls lasted", advice: Buckets(StreamDurationBuckets));
        _requestsPerStream = meter.CreateHistogram("integration_api.stream.requests", null, "Chat requests carried by one StreamChat call", advice: Buckets(RequestsPerStreamBuckets));
        _messagesReceived = meter.CreateCounter<long>("integration_api.stream.messages_received", description: "ChatRequest messages read from streams");
        _messagesSent = meter.CreateCounter<long>("integration_api.stream.messages_sent", description: "ChatResponse messages written to streams");
        _requests = meter.CreateCounter<long>("integration_api.requests", description: "Chat requests by provider, model and code");
        _requestDuration = meter.CreateHistogram("integration_api.request.duration", "s", "Time from start to the terminal response, retries included", advice: Buckets(RequestDurationBuckets));
        _timeToFirstToken = meter.CreateHistogram("integration_api.request.time_to_first_token", "s", "Time to the first text or tool-call fragment", advice: Buckets(TimeToFirstTokenBuckets));
        _tokens = meter.CreateCounter<long>("integration_api.tokens", description: "Tokens reported by providers, by direction");
        _attempts = meter.CreateCounter<long>("integration_api.attempts", description: "Targets a request ran on (primary, fallbacks, hedges), by provider and result");
        _retries = meter.CreateCounter<long>("integration_api.retries", description: "Provider calls retried before their first token");
        _cancels = meter.CreateCounter<long>("integration_api.cancels", description: "Requests cancelled, by reason");
        _queued = meter.CreateUpDownCounter<long>("integration_api.queue.depth", description: "Requests waiting for a slot on their stream");
        _auditWritten = meter.CreateCounter<long>("integration_api.audit.written", description: "Audit records stored");
        _auditDropped = meter.CreateCounter<long>("integration_api.audit.dropped", description: "Audit records lost (buffer full, or the store and the local spool both failing)");
        _auditSpooled = meter.CreateCounter<long>("integration_api.audit.spooled", description: "Audit records kept in the local spool because the store could not take them");
        _auditRedelivered = meter.CreateCounter<long>("integration_api.audit.redelivered", description: "Spooled audit records delivered to the store (also counted as written)");
        _authFailures = meter.CreateCounter<long>("integration_api.auth.failures", description: "Calls refused a caller principal, by reason");
        // The OpenTelemetry GenAI semantic conventions, beside the service's own instruments.
        _genAiTokens = meter.CreateHistogram("gen_ai.client.token.usage", "{token}", "Number of input and output tokens used", advice: Buckets(TokenUsageBuckets));
        _genAiDuration = meter.CreateHistogram("gen_ai.client.operation.duration", "s", "GenAI operation duration", advice: Buckets(RequestDurationBuckets));
        _genAiTimeToFirstToken = meter.CreateHistogram("gen_ai.server.time_to_first_token", "s", "Time to generate the first token", advice: Buckets(TimeToFirstTokenBuckets));
        (_calls, _callDuration) = CreateCallInstruments(meter);
    }

    private static InstrumentAdvice<T> Buckets<T>(IReadOnlyList<T> boundaries) where T : struct => new() { HistogramBucketBoundaries = boundaries };

    /// <summary>The bounded tag value for a model name as the caller sent it (allow-listed, a family, or <c>other</c>).</summary>
    public string ModelTag(string? model) => _model.For(model);

    public void StreamOpened() => _openStreams.Add(1);

    public void StreamClosed(TimeSpan duration, long requests)
    {
        _openStreams.Add(-1);
        _streamDuration.Record(duration.TotalSeconds);
        _requestsPerStream.Record(requests);
    }

    public void MessageReceived() => _messagesReceived.Add(1);

    public void MessageSent() => _messagesSent.Add(1);

    public void Queued(int delta) => _queued.Add(delta);

    public void AuditWritten(int count) => _auditWritten.Add(count);

    public void AuditDropped(int count) => _auditDropped.Add(count);

    public void AuditSpooled(int count) => _auditSpooled.Add(count);

    public void AuditRedelivered(int count) => _auditRedelivered.Add(count);

    public void Cancelled(string reason) => _cancels.Add(1, new KeyValuePair<string, object?>("reason", reason));

    /// <summary>A call was refused a principal (or could not be checked) for <paramref name="reason"/>.</summary>
    public void AuthFailed(Auth.AuthFailure reason) => _authFailures.Add(1, new KeyValuePair<string, object?>("reason", reason.Name()));

    /// <summary>One request's end: its code, timings, usage and retries.</summary>
    public void RequestCompleted(string provider, string? model, int code, TimeSpan elapsed, TimeSpan? timeToFirstToken, TokenUsage? usage, int attempts)
    {
        var modelTag = _model.For(model);
        var tags = new TagList { { "provider", provider }, { "model", modelTag }, { "code", code } };
        _requests.Add(1, tags);
        _requestDuration.Record(elapsed.TotalSeconds, tags);
        if (timeToFirstToken is { } ttft) _timeToFirstToken.Record(ttft.TotalSeconds, new KeyValuePair<string, object?>("provider", provider));
        if (attempts > 1) _retries.Add(attempts - 1, new KeyValuePair<string, object?>("provider", provider));
        if (usage?.Input is { } input) _tokens.Add(input, new("provider", provider), new("direction", "input"));
        if (usage?.Output is { } output) _tokens.Add(output, new("provider", provider), new("direction", "output"));

        var genAi = new TagList { { "gen_ai.operation.name", "chat" }, { "gen_ai.provider.name", GenAiProvider(provider) }, { "gen_ai.request.model", modelTag } };
        if (timeToFirstToken is { } first) _genAiTimeToFirstToken.Record(first.TotalSeconds, genAi);
        if (usage?.Input is { } inputTokens) RecordTokens(inputTokens, genAi, "input");
        if (usage?.Output is { } outputTokens) RecordTokens(outputTokens, genAi, "output");
        if (code != 200) genAi.Add("error.type", code.ToString(System.Globalization.CultureInfo.InvariantCulture));
        _genAiDuration.Record(elapsed.TotalSeconds, genAi);
    }

    private void RecordTokens(long tokens, TagList genAi, string type)
    {
        genAi.Add("gen_ai.token.type", type);
        _genAiTokens.Record(tokens, genAi);
    }

    /// <summary>The semantic conventions' <c>gen_ai.provider.name</c> for a provider of this service (its own name where they list none).</summary>
    public static string GenAiProvider(string provider) => provider switch
    {
        Providers.ProviderNames.Azure => "azure.ai.openai",
        Providers.ProviderNames.Gemini => "gcp.gemini",
        Providers.ProviderNames.VertexAI => "gcp.vertex_ai",
        Providers.ProviderNames.Mistral => "mistral_ai",
        _ => provider, // openai, anthropic, cohere; replicate has no registered value
    };

    /// <summary>One target of a request ended (succeeded, failed, or cancelled as a hedge that lost).</summary>
    public void AttemptEnded(string provider, Engine.AttemptResult result) =>
        _attempts.Add(1, new KeyValuePair<string, object?>("provider", provider), new KeyValuePair<string, object?>("result", result switch
        {
            Engine.AttemptResult.Succeeded => "succeeded",
            Engine.AttemptResult.Failed => "failed",
            _ => "cancelled",
        }));
}
