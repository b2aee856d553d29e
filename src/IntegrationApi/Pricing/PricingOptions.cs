using System.ComponentModel.DataAnnotations;
using IntegrationApi.Providers;
using Microsoft.Extensions.Options;

namespace IntegrationApi.Pricing;

/// <summary>
/// The price table (<c>Pricing</c> section): per provider, per model, US dollars per million tokens.
/// <code>
/// "Pricing": { "AsOf": "2026-11-29", "Providers": { "openai": { "gpt-4o": { "Input": 2.5, "CachedInput": 1.25, "Output": 10 } } } }
/// </code>
/// A model key matches the served model exactly (case-insensitive), or, ending in <c>*</c>, as a prefix
/// (<c>gpt-4.1*</c>); an exact key wins over any prefix, and a longer prefix over a shorter one. A model no key matches
/// is not priced (no cost, counted by <c>integration_api.cost.unpriced</c>).
/// </summary>
public sealed class PricingOptions : IValidatableObject
{
    /// <summary>The most any one price may be (USD per million tokens): a bound that catches a price typed per token or per thousand.</summary>
    public const decimal MaxPrice = 10_000m;

    /// <summary>When the shipped prices were taken (informational; operators must keep the table current).</summary>
    public string AsOf { get; set; } = "";

    /// <summary>Free text for whoever edits the table (where the prices come from).</summary>
    public string Note { get; set; } = "";

    /// <summary>Provider name (as in <c>ProviderNames</c>) → model key → prices.</summary>
    public Dictionary<string, Dictionary<string, ModelPrice>> Providers { get; set; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>Every provider is known, every model key well-formed, every price present where required and in range.</summary>
    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        foreach (var (provider, models) in Providers)
        {
            if (!ProviderNames.All.Contains(provider, StringComparer.OrdinalIgnoreCase))
            {
                yield return new($"Pricing:Providers:{provider} is not a provider ({string.Join(", ", ProviderNames.All)})");
                continue;
            }
            foreach (var (model, price) in models ?? [])
            {
                var where = $"Pricing:Providers:{provider}:{model}";
                if (model.Length == 0 || model.IndexOf('*', StringComparison.Ordinal) is var star && star >= 0 && star != model.Length - 1)
                    yield return new($"{where}: a model key is a model name, or a prefix ending in a single '*'");
                if (price is null) { yield return new($"{where} has no prices"); continue; }
                if (price.Input is null) yield return new($"{where}:Input is required");
                if (price.Output is null) yield return new($"{where}:Output is required");
                foreach (var (name, value) in price.All())
                    if (value is < 0 or > MaxPrice)
                        yield return new($"{where}:{name} must be between 0 and {MaxPrice} (USD per million tokens); it is {value}");
            }
        }
    }
}

/// <summary>One model's prices, in US dollars per million tokens. Input and Output are required; the others default as documented.</summary>
public sealed class ModelPrice
{
    /// <summary>Uncached input tokens.</summary>
    public decimal? Input { get; set; }

    /// <summary>Input tokens read from the provider's prompt cache; defaults to <see cref="Input"/> (no discount).</summary>
    public decimal? CachedInput { get; set; }

    /// <summary>
    /// Input tokens written to the prompt cache (Anthropic's cache creation); defaults to <see cref="Input"/>. Kept in the
    /// table for when usage reports cache writes apart: today they are counted in the input tokens, at <see cref="Input"/>.
    /// </summary>
    public decimal? CacheWrite { get; set; }

    /// <summary>Output tokens (including reasoning tokens unless <see cref="Reasoning"/> is set).</summary>
    public decimal? Output { get; set; }

    /// <summary>Output tokens spent reasoning; defaults to <see cref="Output"/> (how every provider bills them today).</summary>
    public decimal? Reasoning { get; set; }

    internal IEnumerable<(string Name, decimal? Value)> All() =>
        [(nameof(Input), Input), (nameof(CachedInput), CachedInput), (nameof(CacheWrite), CacheWrite), (nameof(Output), Output), (nameof(Reasoning), Reasoning)];
}

/// <summary>Checks <see cref="PricingOptions"/> at start (a negative price, an unknown provider or a bad model key stops the service).</summary>
[OptionsValidator]
internal sealed partial class PricingOptionsValidator : IValidateOptions<PricingOptions>;
