using System.Globalization;
using Google.Protobuf.WellKnownTypes;
using Proto = IntegrationApi.Contracts;

namespace IntegrationApi.Client;

/// <summary>
/// Another place a request may run (contract §9): a provider, a model and a credential, each inheriting the
/// request's when null. <c>"anthropic:claude-sonnet-4-5"</c>, <c>":gpt-4o"</c> (the request's provider) and
/// <c>"anthropic:"</c> (the request's model) parse into one.
/// </summary>
public sealed record ChatTargetSpec(string? Provider = null, string? Model = null, IReadOnlyDictionary<string, string>? Credential = null)
{
    /// <summary>Parses <c>provider:model</c>; either side may be empty (inherited), not both.</summary>
    /// <exception cref="FormatException">No <c>:</c>, or nothing on either side.</exception>
    public static ChatTargetSpec Parse(string spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var colon = spec.IndexOf(':', StringComparison.Ordinal); // models may hold colons ("llama3:8b"); provider names do not
        if (colon < 0) throw new FormatException($"\"{spec}\" is not provider:model (\":model\" keeps the request's provider)");
        var provider = spec[..colon].Trim();
        var model = spec[(colon + 1)..].Trim();
        if (provider.Length == 0 && model.Length == 0) throw new FormatException($"\"{spec}\" names neither a provider nor a model");
        return new ChatTargetSpec(provider.Length > 0 ? provider : null, model.Length > 0 ? model : null);
    }

    /// <summary>The contract's <see cref="Proto.ChatTarget"/>: <c>model.name</c> set when <see cref="Model"/> is, the credential when given.</summary>
    public Proto.ChatTarget ToProto()
    {
        var target = new Proto.ChatTarget { ProviderName = Provider ?? "" };
        if (Model is not null) target.ModelParameters["model.name"] = Any.Pack(Value.ForString(Model));
        if (Credential is not null) target.Credential = ToCredential(Credential);
        return target;
    }

    /// <summary><c>provider:model</c> (never the credential).</summary>
    public override string ToString() => $"{Provider}:{Model}";

    internal static Proto.Credential ToCredential(IReadOnlyDictionary<string, string> values)
    {
        var credential = new Proto.Credential { Value = new Struct() };
        foreach (var (k, v) in values) credential.Value.Fields[k] = Value.ForString(v);
        return credential;
    }
}

/// <summary>What served a request, from its terminal's metrics (<c>PROVIDER_NAME</c>, <c>MODEL_NAME</c>, <c>ATTEMPTS</c>).</summary>
/// <param name="Provider">The provider that served it (or, when every target failed, the last one that ran).</param>
/// <param name="Model">The model that served it (or the last one that ran).</param>
/// <param name="Attempts">How many targets it ran on: the primary, fallbacks, hedges (0 when not reported).</param>
public sealed record ServedBy(string Provider, string Model, int Attempts);

/// <summary>Fallbacks and hedging on the contract's request; what served it on the terminal response.</summary>
public static class ChatRequestFallbackExtensions
{
    /// <summary>Adds a fallback target (tried in order when the request fails before its first token); returns <paramref name="request"/>.</summary>
    /// <param name="request">The request (changed in place).</param>
    /// <param name="provider">The target's provider; null or empty: the request's.</param>
    /// <param name="model">Its <c>model.name</c>; null: the request's.</param>
    /// <param name="credential">Its credential (e.g. <c>{"key": …}</c>); null: the request's.</param>
    public static Proto.ChatRequest WithFallback(this Proto.ChatRequest request, string? provider, string? model, IReadOnlyDictionary<string, string>? credential = null) =>
        request.WithFallback(new ChatTargetSpec(string.IsNullOrEmpty(provider) ? null : provider, model, credential));

    /// <summary>Adds <paramref name="target"/> as the next fallback; returns <paramref name="request"/>.</summary>
    public static Proto.ChatRequest WithFallback(this Proto.ChatRequest request, ChatTargetSpec target)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(target);
        request.Fallbacks.Add(target.ToProto());
        return request;
    }

    /// <summary>
    /// Hedges: without a first token after <paramref name="after"/> the next target starts in parallel, the first to
    /// answer wins (needs a fallback; the service takes at most 10 minutes). <see cref="TimeSpan.Zero"/> turns it off.
    /// Returns <paramref name="request"/>.
    /// </summary>
    public static Proto.ChatRequest WithHedge(this Proto.ChatRequest request, TimeSpan after)
    {
        ArgumentNullException.ThrowIfNull(request);
        request.HedgeAfterMs = ToMilliseconds(after);
        return request;
    }

    /// <summary>The value of metric <paramref name="name"/> on a terminal response (<see cref="Proto.MetricNames"/>), or null.</summary>
    public static string? GetMetric(this Proto.ChatResponse response, string name)
    {
        ArgumentNullException.ThrowIfNull(response);
        foreach (var m in response.Metrics)
            if (m.Name == name) return m.Value;
        return null;
    }

    /// <summary>Which provider and model served the request and after how many attempts; null when the terminal does not say (an older service, or a delta).</summary>
    public static ServedBy? GetServedBy(this Proto.ChatResponse response)
    {
        var provider = response.GetMetric(Proto.MetricNames.ProviderName);
        var model = response.GetMetric(Proto.MetricNames.ModelName);
        if (provider is null && model is null) return null;
        var attempts = int.TryParse(response.GetMetric(Proto.MetricNames.Attempts), NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n : 0;
        return new ServedBy(provider ?? "", model ?? "", attempts);
    }

    internal static uint ToMilliseconds(TimeSpan after)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(after, TimeSpan.Zero);
        var ms = Math.Ceiling(after.TotalMilliseconds); // 0.5 ms still hedges (1 ms), never turns hedging off
        ArgumentOutOfRangeException.ThrowIfGreaterThan(ms, uint.MaxValue, nameof(after));
        return (uint)ms;
    }
}
