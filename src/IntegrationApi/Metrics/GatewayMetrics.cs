using System.Diagnostics;
using System.Diagnostics.Metrics;
using IntegrationApi.Chat;

namespace IntegrationApi.Metrics;

/// <summary>
/// The service's instruments (meter <c>IntegrationApi</c>, exported for Prometheus at <c>/metrics</c>).
/// Tags are bounded: provider names, contract codes, and the model name as the caller sent it.
/// </summary>
public sealed class GatewayMetrics
{
    public const string MeterName = "IntegrationApi";

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

    public GatewayMetrics(IMeterFactory meters)
    {
        var meter = meters.Create(MeterName);
        _openStreams = meter.CreateUpDownCounter<long>("integration_api.streams.open", description: "StreamChat calls open now");
        _streamDuration = meter.CreateHistogram<double>("integration_api.stream.duration", "s", "How long StreamChat calls lasted");
        _requestsPerStream = meter.CreateHistogram<long>("integration_api.stream.requests", description: "Chat requests carried by one StreamChat call");
        _messagesReceived = meter.CreateCounter<long>("integration_api.stream.messages_received", description: "ChatRequest messages read from streams");
        _messagesSent = meter.CreateCounter<long>("integration_api.stream.messages_sent", description: "ChatResponse messages written to streams");
        _requests = meter.CreateCounter<long>("integration_api.requests", description: "Chat requests by provider, model and code");
        _requestDuration = meter.CreateHistogram<double>("integration_api.request.duration", "s", "Time from start to the terminal response, retries included");
        _timeToFirstToken = meter.CreateHistogram<double>("integration_api.request.time_to_first_token", "s", "Time to the first text or tool-call fragment");
        _tokens = meter.CreateCounter<long>("integration_api.tokens", description: "Tokens reported by providers, by direction");
        _attempts = meter.CreateCounter<long>("integration_api.attempts", description: "Targets a request ran on (primary, fallbacks, hedges), by provider and result");
        _retries = meter.CreateCounter<long>("integration_api.retries", description: "Provider calls retried before their first token");
        _cancels = meter.CreateCounter<long>("integration_api.cancels", description: "Requests cancelled, by reason");
        _queued = meter.CreateUpDownCounter<long>("integration_api.queue.depth", description: "Requests waiting for a slot on their stream");
        _auditWritten = meter.CreateCounter<long>("integration_api.audit.written", description: "Audit records stored");
        _auditDropped = meter.CreateCounter<long>("integration_api.audit.dropped", description: "Audit records lost (buffer full, or the store and the local spool both failing)");
        _auditSpooled = meter.CreateCounter<long>("integration_api.audit.spooled", description: "Audit records kept in the local spool because the store could not take them");
        _auditRedelivered = meter.CreateCounter<long>("integration_api.audit.redelivered", description: "Spooled audit records delivered to the store (also counted as written)");
    }

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

    /// <summary>One request's end: its code, timings, usage and retries.</summary>
    public void RequestCompleted(string provider, string? model, int code, TimeSpan elapsed, TimeSpan? timeToFirstToken, TokenUsage? usage, int attempts)
    {
        var tags = new TagList { { "provider", provider }, { "model", model ?? "" }, { "code", code } };
        _requests.Add(1, tags);
        _requestDuration.Record(elapsed.TotalSeconds, tags);
        if (timeToFirstToken is { } ttft) _timeToFirstToken.Record(ttft.TotalSeconds, new KeyValuePair<string, object?>("provider", provider));
        if (attempts > 1) _retries.Add(attempts - 1, new KeyValuePair<string, object?>("provider", provider));
        if (usage?.Input is { } input) _tokens.Add(input, new("provider", provider), new("direction", "input"));
        if (usage?.Output is { } output) _tokens.Add(output, new("provider", provider), new("direction", "output"));
    }

    /// <summary>One target of a request ended (succeeded, failed, or cancelled as a hedge that lost).</summary>
    public void AttemptEnded(string provider, Engine.AttemptResult result) =>
        _attempts.Add(1, new KeyValuePair<string, object?>("provider", provider), new KeyValuePair<string, object?>("result", result switch
        {
            Engine.AttemptResult.Succeeded => "succeeded",
            Engine.AttemptResult.Failed => "failed",
            _ => "cancelled",
        }));
}
