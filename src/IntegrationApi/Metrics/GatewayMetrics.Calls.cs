using System.Diagnostics;
using System.Diagnostics.Metrics;
using IntegrationApi.Chat;

namespace IntegrationApi.Metrics;

/// <summary>The instruments of the non-streaming RPCs (Embedding, Reranking, GetModeration).</summary>
public sealed partial class GatewayMetrics
{
    private readonly Counter<long> _calls;
    private readonly Histogram<double> _callDuration;

    private static (Counter<long>, Histogram<double>) CreateCallInstruments(Meter meter) =>
    (
        meter.CreateCounter<long>("integration_api.calls", description: "Embedding, reranking and moderation requests by operation, provider, model and code"),
        meter.CreateHistogram("integration_api.call.duration", "s", "Time from start to the answer of an embedding, reranking or moderation request, batches and retries included", advice: Buckets(RequestDurationBuckets))
    );

    /// <summary>One embedding, reranking or moderation request ended: its code, duration, usage and upstream tries.</summary>
    public void CallCompleted(string operation, string provider, string? model, int code, TimeSpan elapsed, TokenUsage? usage, int tries)
    {
        var modelTag = _model.For(model);
        var tags = new TagList { { "operation", operation }, { "provider", provider }, { "model", modelTag }, { "code", code } };
        _calls.Add(1, tags);
        _callDuration.Record(elapsed.TotalSeconds, tags);
        if (tries > 1) _retries.Add(tries - 1, new KeyValuePair<string, object?>("provider", provider));
        if (usage?.Input is { } input) _tokens.Add(input, new("provider", provider), new("direction", "input"));

        var genAi = new TagList { { "gen_ai.operation.name", operation }, { "gen_ai.provider.name", GenAiProvider(provider) }, { "gen_ai.request.model", modelTag } };
        if (usage?.Input is { } inputTokens) RecordTokens(inputTokens, genAi, "input");
        if (code != 200) genAi.Add("error.type", code.ToString(System.Globalization.CultureInfo.InvariantCulture));
        _genAiDuration.Record(elapsed.TotalSeconds, genAi);
    }
}
