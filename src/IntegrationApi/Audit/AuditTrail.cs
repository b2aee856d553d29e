using System.Globalization;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using IntegrationApi.Auth;
using Proto = IntegrationApi.Contracts;

namespace IntegrationApi.Audit;

/// <summary>Turns a request and its terminal response into the one audit record it leaves.</summary>
internal sealed partial class AuditTrail(AuditWriter writer, TimeProvider time, Microsoft.Extensions.Options.IOptions<AuditOptions> options, ILogger<AuditTrail> logger)
{
    private readonly bool _payloads = options.Value.IncludePayloads;

    /// <summary>Knows the types the Go clients pack into model parameters, so their Any values format.</summary>
    private static readonly Google.Protobuf.JsonFormatter PayloadFormatter = new(Google.Protobuf.JsonFormatter.Settings.Default.WithTypeRegistry(
        Google.Protobuf.Reflection.TypeRegistry.FromMessages(Value.Descriptor, Struct.Descriptor, ListValue.Descriptor, StringValue.Descriptor,
            BoolValue.Descriptor, DoubleValue.Descriptor, FloatValue.Descriptor, Int64Value.Descriptor, UInt64Value.Descriptor,
            Int32Value.Descriptor, UInt32Value.Descriptor, BytesValue.Descriptor)));

    /// <summary>The original's enrichment from call metadata: source, env and region.</summary>
    public static IReadOnlyDictionary<string, string> CallTags(Metadata headers)
    {
        Dictionary<string, string>? tags = null;   // none is one shared empty map: a StreamChat call keeps its tags while it is open
        if (headers.GetValue("x-client-source") is { Length: > 0 } source) (tags ??= new(3))["source"] = Cut(source, MaxMetadataKeyLength);
        if (headers.GetValue("x-rapida-environment") is { Length: > 0 } env) (tags ??= new(3))["env"] = Cut(env, MaxMetadataKeyLength);
        if (headers.GetValue("x-rapida-region") is { Length: > 0 } region) (tags ??= new(3))["region"] = Cut(region, MaxMetadataKeyLength);
        return (IReadOnlyDictionary<string, string>?)tags ?? System.Collections.ObjectModel.ReadOnlyDictionary<string, string>.Empty;
    }

    /// <summary>Caller metadata kept per record: at most this many entries, each key and value cut to the lengths below.</summary>
    public const int MaxMetadataEntries = 64, MaxMetadataKeyLength = 128, MaxMetadataValueLength = 4096;

    /// <summary>A model name longer than this is cut in the record (requests with one are refused anyway).</summary>
    private const int MaxModelNameLength = 256;

    /// <summary>
    /// Records one request's outcome. Never throws into the request: a record that cannot be built in full (a payload
    /// that does not format, say) is logged and written without the part that failed.
    /// </summary>
    /// <param name="outcome">What the engine measured, when the request ran; null for a request refused before it ran.</param>
    public void Record(CallerPrincipal principal, IReadOnlyDictionary<string, string> callTags, string? serviceProvider,
        Proto.ChatRequest request, Proto.ChatResponse terminal, Engine.ChatOutcome? outcome = null)
    {
        try
        {
            RecordCore(principal, callTags, serviceProvider, request, terminal, outcome);
        }
        catch (Exception ex)
        {
            Log.RecordFailed(logger, terminal.RequestId, ex);
            writer.Enqueue(new AuditRecord
            {
                RequestId = terminal.RequestId, CreatedAt = time.GetUtcNow(), OrganizationId = principal.OrganizationId, ProjectId = principal.ProjectId,
                Provider = serviceProvider ?? "", Status = terminal.Success ? Proto.MetricNames.StatusSuccess : Proto.MetricNames.StatusFailed, Code = terminal.Code, FinishReason = terminal.FinishReason,
            });
        }
    }

    private void RecordCore(CallerPrincipal principal, IReadOnlyDictionary<string, string> callTags, string? serviceProvider,
        Proto.ChatRequest request, Proto.ChatResponse terminal, Engine.ChatOutcome? outcome)
    {
        var provider = serviceProvider ?? Cut(request.ProviderName.ToLowerInvariant(), 64);
        var model = Cut(Text(request.ModelParameters.GetValueOrDefault("model.name")) ?? "", MaxModelNameLength);
        var metadata = new Dictionary<string, string>(Math.Min(request.AdditionalData.Count, MaxMetadataEntries) + 6);
        foreach (var (k, v) in request.AdditionalData)
        {
            if (metadata.Count >= MaxMetadataEntries) break;
            metadata[Cut(k, MaxMetadataKeyLength)] = Cut(v, MaxMetadataValueLength);
        }
        metadata["provider_name"] = provider;
        if (model.Length > 0) metadata["model_name"] = model;
        if (Text(request.ModelParameters.GetValueOrDefault("model.id")) is { } modelId) metadata["model_id"] = Cut(modelId, MaxMetadataValueLength);
        foreach (var (k, v) in callTags) metadata[k] = v;
        metadata.Remove(AuditRecord.AttemptsKey); // the service's own key: the attempts are shown under it (AuditLoggingApi)

        // From the typed outcome, never parsed back from the metric strings just formatted for the response.
        long? timeTaken = outcome is null ? null : outcome.Elapsed.Ticks * 100;
        long? firstToken = outcome?.TimeToFirstToken is { } ttft ? ttft.Ticks * 100 : null;
        var usage = outcome?.Result?.Usage;
        Log.Request(logger, terminal.RequestId, request.ClientRequestId, principal.OrganizationId, principal.ProjectId, provider, model,
            terminal.Code, terminal.FinishReason, (timeTaken ?? 0) / 1e6, (firstToken ?? -1_000_000) / 1e6, usage?.Input ?? 0, usage?.Output ?? 0);
        writer.Enqueue(new AuditRecord
        {
            RequestId = terminal.RequestId,
            CreatedAt = time.GetUtcNow(),
            OrganizationId = principal.OrganizationId,
            ProjectId = principal.ProjectId,
            CredentialId = request.Credential?.Id ?? 0,
            Provider = provider,
            Model = model,
            Status = terminal.Success ? Proto.MetricNames.StatusSuccess : Proto.MetricNames.StatusFailed,
            Code = terminal.Code,
            FinishReason = terminal.FinishReason,
            TimeTakenNs = timeTaken ?? 0,
            TimeToFirstTokenNs = firstToken,
            InputTokens = usage?.Input,
            OutputTokens = usage?.Output,
            TotalTokens = usage?.Total,
            CostUsd = outcome?.CostUsd,
            Metadata = metadata,
            RequestJson = _payloads ? Format(Redacted(request)) : null,
            ResponseJson = _payloads ? Format(terminal) : null,
            Attempts = outcome is null ? [] : [.. outcome.Targets.Select(a => AuditAttempt.From(a, MaxModelNameLength))],
        });
    }

    private static string Cut(string text, int max) => text.Length <= max ? text : text[..max];

    private static partial class Log
    {
        [LoggerMessage(41, LogLevel.Error, "The audit record of request {RequestId} could not be built in full; it is written without its payloads and metadata")]
        public static partial void RecordFailed(ILogger logger, ulong requestId, Exception exception);

        [LoggerMessage(40, LogLevel.Information, "Request {RequestId} ({ClientRequestId}) org {OrganizationId} project {ProjectId} {Provider} {Model}: {Code} {FinishReason} in {TimeTakenMs:0.0} ms, first token {TtftMs:0.0} ms, tokens {InputTokens}/{OutputTokens}")]
        public static partial void Request(ILogger logger, ulong requestId, string clientRequestId, ulong organizationId, ulong projectId,
            string provider, string model, int code, string finishReason, double timeTakenMs, double ttftMs, long inputTokens, long outputTokens);
    }

    /// <summary>JSON of a payload; one that cannot be written (an Any of an unknown type) is noted, never fails the request.</summary>
    private static string Format(Google.Protobuf.IMessage message)
    {
        // Any caller value can be unformattable (a Value with no kind, NaN, an Any of an unknown type, deep nesting):
        // the record keeps a note instead of the payload.
        try { return PayloadFormatter.Format(message); }
        catch (Exception ex) when (ex is InvalidOperationException or ArgumentException or Google.Protobuf.InvalidProtocolBufferException or InvalidCastException)
        {
            return System.Text.Json.JsonSerializer.Serialize(new Dictionary<string, string> { ["unformattable"] = ex.GetType().Name });
        }
    }

    /// <summary>The request with every credential value replaced: secrets never reach an audit record.</summary>
    private static Proto.ChatRequest Redacted(Proto.ChatRequest request)
    {
        var copy = request.Clone();
        Redact(copy.Credential);
        foreach (var target in copy.Fallbacks) Redact(target.Credential);   // each fallback's own credential too
        return copy;
    }

    private static void Redact(Proto.Credential? credential)
    {
        if (credential?.Value is { } secret)
            foreach (var key in secret.Fields.Keys.ToList()) secret.Fields[key] = Value.ForString("[redacted]");
    }

    private static string? Text(Any? any)
    {
        if (any is null) return null;
        try
        {
            if (any.Is(Value.Descriptor)) return any.Unpack<Value>() is { KindCase: Value.KindOneofCase.StringValue } v ? v.StringValue : null;
            if (any.Is(StringValue.Descriptor)) return any.Unpack<StringValue>().Value;
        }
        catch (Google.Protobuf.InvalidProtocolBufferException) { }
        return null;
    }
}
