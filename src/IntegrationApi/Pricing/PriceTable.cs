using IntegrationApi.Chat;
using Microsoft.Extensions.Options;

namespace IntegrationApi.Pricing;

/// <summary>One model's prices with the defaults applied, US dollars per million tokens.</summary>
public sealed record Price(decimal Input, decimal CachedInput, decimal CacheWrite, decimal Output, decimal Reasoning)
{
    internal static Price From(ModelPrice p)
    {
        var input = p.Input ?? 0m;
        var output = p.Output ?? 0m;
        return new(input, p.CachedInput ?? input, p.CacheWrite ?? input, output, p.Reasoning ?? output);
    }
}

/// <summary>
/// The validated <see cref="PricingOptions"/> as a lookup: per provider, exact model names, then prefixes longest first.
/// Built once at start; immutable.
/// </summary>
public sealed class PriceTable
{
    private readonly Dictionary<string, (Dictionary<string, Price> Exact, (string Prefix, Price Price)[] Prefixes)> _providers =
        new(StringComparer.OrdinalIgnoreCase);

    public PriceTable(IOptions<PricingOptions> options)
    {
        foreach (var (provider, models) in options.Value.Providers)
        {
            var exact = new Dictionary<string, Price>(StringComparer.OrdinalIgnoreCase);
            var prefixes = new List<(string, Price)>();
            foreach (var (model, price) in models)
            {
                if (model.EndsWith('*')) prefixes.Add((model[..^1], Price.From(price)));
                else exact[model] = Price.From(price);
            }
            _providers[provider] = (exact, [.. prefixes.OrderByDescending(p => p.Item1.Length)]);
        }
    }

    /// <summary>The prices of <paramref name="model"/> served by <paramref name="provider"/>, or null when the table has none.</summary>
    public Price? Find(string provider, string model) => Find(provider, model, out _);

    /// <summary>
    /// The prices of <paramref name="model"/>, and the table's key that matched (the model, or the <c>prefix*</c> entry):
    /// a bounded name to tag metrics with, where the caller's model name is not.
    /// </summary>
    public Price? Find(string provider, string model, out string key)
    {
        key = "";
        if (!_providers.TryGetValue(provider, out var entry)) return null;
        if (entry.Exact.TryGetValue(model, out var price))
        {
            key = model.ToLowerInvariant();
            return price;
        }
        foreach (var (prefix, p) in entry.Prefixes)
            if (model.StartsWith(prefix, StringComparison.OrdinalIgnoreCase))
            {
                key = prefix.ToLowerInvariant() + "*";
                return p;
            }
        return null;
    }

    /// <summary>
    /// What <paramref name="usage"/> cost at <paramref name="price"/>, in US dollars (exact decimal arithmetic):
    /// <code>
    /// ((input − cached) × Input + cached × CachedInput + (output − reasoning) × Output + reasoning × Reasoning) / 1,000,000
    /// </code>
    /// Cached tokens are part of the input tokens and reasoning tokens part of the output tokens (every adapter maps usage
    /// so); a count the provider did not report is 0, and a part larger than its whole is cut to the whole.
    /// </summary>
    public static decimal CostOf(Price price, TokenUsage usage)
    {
        long input = Math.Max(0, usage.Input ?? 0), output = Math.Max(0, usage.Output ?? 0);
        var cached = Math.Clamp(usage.CachedInput ?? 0, 0, input);
        var reasoning = Math.Clamp(usage.Reasoning ?? 0, 0, output);
        var perMillion = (input - cached) * price.Input + cached * price.CachedInput
            + (output - reasoning) * price.Output + reasoning * price.Reasoning;
        return perMillion / 1_000_000m;
    }
}
