using Microsoft.Extensions.DependencyInjection.Extensions;

namespace IntegrationApi.Pricing;

/// <summary>Registers the price table (<c>Pricing</c> section), the project budgets (<c>Budgets</c>), both validated at start, and the pricer.</summary>
public static class PricingServiceCollectionExtensions
{
    /// <summary>
    /// Adds pricing. Without it the service runs unpriced: no <c>COST_USD</c>, no cost column, no cost counter (the audit
    /// trail takes the pricer as optional).
    /// </summary>
    public static IServiceCollection AddPricing(this IServiceCollection services)
    {
        // Once: binding the sections twice would bind their lists twice.
        if (services.Any(d => d.ServiceType == typeof(CallPricer))) return services;
        services.AddMetrics();
        services.AddValidatedOptions<PricingOptions, PricingOptionsValidator>("Pricing");
        services.AddValidatedOptions<BudgetOptions, BudgetOptionsValidator>("Budgets");
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<PriceTable>();
        services.TryAddSingleton<SpendLedger>();
        services.AddSingleton<CallPricer>();
        return services;
    }
}
