using System.Diagnostics.Metrics;
using System.Globalization;
using IntegrationApi.Auth;
using IntegrationApi.Engine;

namespace IntegrationApi.Pricing;

/// <summary>
/// Prices each answer once, when the engine returns it (the two chat paths call it directly): sets <see cref="ChatOutcome.CostUsd"/> (the terminal's
/// <c>COST_USD</c> and the audit record's <c>cost_usd</c> read it) and adds it to <c>integration_api.cost</c>.
/// A model the table does not price, or an answer without usage, gets no cost and is counted in
/// <c>integration_api.cost.unpriced</c>: a cost is never guessed.
/// </summary>
public sealed class CallPricer
{
    /// <summary>The service's meter (the same name as the other instruments, so the Prometheus exporter reads it).</summary>
    public const string MeterName = "IntegrationApi";

    private readonly PriceTable _prices;
    private readonly SpendLedger _ledger;
    private readonly Counter<double> _cost;
    private readonly Counter<long> _unpriced;

    public CallPricer(PriceTable prices, SpendLedger ledger, IMeterFactory meters)
    {
        (_prices, _ledger) = (prices, ledger);
        var meter = meters.Create(MeterName);
        _cost = meter.CreateCounter<double>("integration_api.cost", "USD", "What answers cost at the configured list prices, by organization, project, provider and model");
        _unpriced = meter.CreateCounter<long>("integration_api.cost.unpriced", description: "Answers left without a cost: a model the price table does not price (unknown_model) or no usage reported (no_usage)");
    }

    /// <summary>
    /// <paramref name="outcome"/> with its cost, when it has an answer with usage and the table prices its model; as it was
    /// otherwise (a failed request carries no usage). Call once per outcome: it counts.
    /// </summary>
    public ChatOutcome Price(CallerPrincipal principal, ChatOutcome outcome)
    {
        if (outcome.Result?.Usage is not { } usage) return outcome;
        if (usage.Input is null && usage.Output is null)
        {
            Unpriced(outcome.Provider, "no_usage");
            return outcome;
        }
        if (_prices.Find(outcome.Provider, outcome.Model, out var priced) is not { } price)
        {
            Unpriced(outcome.Provider, "unknown_model");
            return outcome;
        }
        var cost = PriceTable.CostOf(price, usage);
        _cost.Add((double)cost,
            new KeyValuePair<string, object?>("organization", principal.OrganizationId.ToString(CultureInfo.InvariantCulture)),
            new KeyValuePair<string, object?>("project", principal.ProjectId.ToString(CultureInfo.InvariantCulture)),
            new KeyValuePair<string, object?>("provider", outcome.Provider),
            new KeyValuePair<string, object?>("model", priced)); // the table's entry, not the caller's spelling: a bounded tag
        _ledger.Charge(principal, cost);
        return outcome with { CostUsd = cost };
    }

    /// <summary>The 429 for a project past its budget (<c>Budgets</c>); null when it may run a request.</summary>
    public ChatError? OverBudget(CallerPrincipal principal) => _ledger.Refusal(principal);

    private void Unpriced(string provider, string reason) =>
        _unpriced.Add(1, new KeyValuePair<string, object?>("provider", provider), new KeyValuePair<string, object?>("reason", reason));

    /// <summary>A cost as the contract writes it (<c>COST_USD</c>): US dollars, invariant, at most 8 decimals, no trailing zeros.</summary>
    public static string Format(decimal usd) => usd.ToString("0.########", CultureInfo.InvariantCulture);
}
