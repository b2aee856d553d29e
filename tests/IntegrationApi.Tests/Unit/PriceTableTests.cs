using System.ComponentModel.DataAnnotations;
using IntegrationApi.Chat;
using IntegrationApi.Pricing;
using Microsoft.Extensions.Options;

namespace IntegrationApi.Tests.Unit;

/// <summary>The price table on its own: lookup, the billing formula, the contract's number format, validation.</summary>
public sealed class PriceTableTests
{
    private static PriceTable Table(params (string Provider, string Model, ModelPrice Price)[] entries)
    {
        var options = new PricingOptions();
        foreach (var (provider, model, price) in entries)
        {
            if (!options.Providers.TryGetValue(provider, out var models)) options.Providers[provider] = models = new(StringComparer.OrdinalIgnoreCase);
            models[model] = price;
        }
        return new PriceTable(Options.Create(options));
    }

    private static ModelPrice P(decimal input, decimal output) => new() { Input = input, Output = output };

    [Fact]
    public void Find_ExactBeatsPrefix_LongerPrefixBeatsShorter_CaseInsensitive_OtherwiseNull()
    {
        var table = Table(("openai", "gpt-4.1*", P(2, 8)), ("openai", "gpt-4.1-mini*", P(0.4m, 1.6m)), ("openai", "gpt-4.1-mini-special", P(9, 9)),
            ("anthropic", "claude-x", P(3, 15)));
        Assert.Equal(2m, table.Find("openai", "gpt-4.1-2025-04-14")!.Input);
        Assert.Equal(2m, table.Find("OpenAI", "GPT-4.1")!.Input);
        Assert.Equal(0.4m, table.Find("openai", "gpt-4.1-mini-2025-04-14")!.Input);
        Assert.Equal(9m, table.Find("openai", "gpt-4.1-mini-special")!.Input);
        Assert.Null(table.Find("openai", "gpt-4o"));
        Assert.Null(table.Find("azure", "gpt-4.1"));          // prices are per provider
        Assert.Null(table.Find("anthropic", "claude-x-2"));   // no '*': exact only
    }

    [Fact]
    public void CostOf_BillsUncachedCachedVisibleOutputAndReasoningEachAtItsPrice()
    {
        var price = Price.From(new ModelPrice { Input = 2.5m, CachedInput = 1.25m, Output = 10m, Reasoning = 40m });
        // (1234 − 200) × 2.5 + 200 × 1.25 + (567 − 100) × 10 + 100 × 40 = 2585 + 250 + 4670 + 4000 = 11505 per million.
        Assert.Equal(0.011505m, PriceTable.CostOf(price, new TokenUsage(Input: 1234, Output: 567, CachedInput: 200, Reasoning: 100)));
    }

    [Fact]
    public void CostOf_DefaultsCachedAndCacheWriteToInput_ReasoningToOutput_MissingCountsAreZero_PartsCutToTheirWhole()
    {
        var price = Price.From(P(3, 15));
        Assert.Equal(new Price(3, 3, 3, 15, 15), price);
        Assert.Equal((1000 * 3 + 100 * 15) / 1_000_000m, PriceTable.CostOf(price, new TokenUsage(Input: 1000, Output: 100, CachedInput: 400, Reasoning: 50)));
        Assert.Equal(15 / 1_000_000m, PriceTable.CostOf(price, new TokenUsage(Output: 1)));
        var discounted = Price.From(new ModelPrice { Input = 3, CachedInput = 0.3m, Output = 15 });
        Assert.Equal(10 * 0.3m / 1_000_000m, PriceTable.CostOf(discounted, new TokenUsage(Input: 10, Output: 0, CachedInput: 99)));
    }

    [Theory]
    [InlineData("0.011505", "0.011505")]
    [InlineData("12", "12")]
    [InlineData("0", "0")]
    [InlineData("0.000000001", "0")]
    [InlineData("0.123456785", "0.12345679")]
    [InlineData("0.00000003", "0.00000003")]
    public void Format_IsInvariant_AtMostEightDecimals_NoTrailingZeros(string value, string expected) =>
        Assert.Equal(expected, CallPricer.Format(decimal.Parse(value, System.Globalization.CultureInfo.InvariantCulture)));

    [Fact]
    public void Validate_RefusesNegativeOrHugePrices_MissingInputOrOutput_BadKeys_UnknownProviders()
    {
        var options = new PricingOptions();
        options.Providers["openai"] = new()
        {
            ["gpt-4o"] = new ModelPrice { Input = -1, Output = 10 },
            ["gpt-4o-mini"] = new ModelPrice { Input = 1 },
            ["gpt*4"] = P(1, 1),
            ["o9"] = new ModelPrice { Input = 1, Output = 1, Reasoning = 20_000 },
        };
        options.Providers["openia"] = new() { ["x"] = P(1, 1) };
        var errors = options.Validate(new ValidationContext(options)).Select(e => e.ErrorMessage).ToList();
        Assert.Contains("Pricing:Providers:openai:gpt-4o:Input must be between 0 and 10000 (USD per million tokens); it is -1", errors);
        Assert.Contains("Pricing:Providers:openai:gpt-4o-mini:Output is required", errors);
        Assert.Contains(errors, e => e!.StartsWith("Pricing:Providers:openai:gpt*4: a model key", StringComparison.Ordinal));
        Assert.Contains(errors, e => e!.StartsWith("Pricing:Providers:openai:o9:Reasoning must be between", StringComparison.Ordinal));
        Assert.Contains(errors, e => e!.StartsWith("Pricing:Providers:openia is not a provider", StringComparison.Ordinal));
        Assert.Equal(5, errors.Count);
    }

    [Fact]
    public void Budgets_RefuseANonPositiveLimit_AnUnknownPeriod_AProjectTwice()
    {
        var options = new BudgetOptions
        {
            Projects =
            [
                new() { OrganizationId = 1, ProjectId = 2, LimitUsd = 0 },
                new() { OrganizationId = 1, ProjectId = 3, LimitUsd = 5, Period = "Week" },
                new() { OrganizationId = 1, ProjectId = 3, LimitUsd = 5, Period = "day" },
            ],
        };
        var errors = options.Validate(new ValidationContext(options)).Select(e => e.ErrorMessage).ToList();
        Assert.Equal(3, errors.Count);
        Assert.StartsWith("Budgets:Projects:0:LimitUsd must be more than 0", errors[0], StringComparison.Ordinal);
        Assert.StartsWith("Budgets:Projects:1:Period must be Day or Month", errors[1], StringComparison.Ordinal);
        Assert.Equal("Budgets:Projects:2: organization 1 project 3 already has a budget", errors[2]);
    }
}
