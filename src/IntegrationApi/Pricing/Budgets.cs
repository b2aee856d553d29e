using System.Collections.Concurrent;
using System.ComponentModel.DataAnnotations;
using System.Globalization;
using IntegrationApi.Auth;
using IntegrationApi.Engine;
using Microsoft.Extensions.Options;

namespace IntegrationApi.Pricing;

/// <summary>Spend limits (<c>Budgets</c> section): per organization + project, per UTC calendar day or month.</summary>
public sealed class BudgetOptions : IValidatableObject
{
    public List<ProjectBudget> Projects { get; set; } = [];

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        for (var i = 0; i < Projects.Count; i++)
        {
            var b = Projects[i];
            if (b.LimitUsd is not (> 0 and <= 1_000_000_000m))
                yield return new($"Budgets:Projects:{i}:LimitUsd must be more than 0 and at most 1000000000 (US dollars); it is {b.LimitUsd}");
            if (!b.Period.Equals("Day", StringComparison.OrdinalIgnoreCase) && !b.Period.Equals("Month", StringComparison.OrdinalIgnoreCase))
                yield return new($"Budgets:Projects:{i}:Period must be Day or Month (UTC calendar); it is \"{b.Period}\"");
            if (Projects.Take(i).Any(o => o.OrganizationId == b.OrganizationId && o.ProjectId == b.ProjectId))
                yield return new($"Budgets:Projects:{i}: organization {b.OrganizationId} project {b.ProjectId} already has a budget");
        }
    }
}

/// <summary>One project's limit.</summary>
public sealed class ProjectBudget
{
    public ulong OrganizationId { get; set; }
    public ulong ProjectId { get; set; }
    /// <summary>US dollars the project may spend per <see cref="Period"/> (at the price table's prices).</summary>
    public decimal LimitUsd { get; set; }
    /// <summary><c>Day</c> or <c>Month</c>, UTC calendar.</summary>
    public string Period { get; set; } = "Month";
}

[OptionsValidator]
internal sealed partial class BudgetOptionsValidator : IValidateOptions<BudgetOptions>;

/// <summary>
/// What each budgeted project spent in its current period, in this instance's memory (local only: not shared across
/// instances, and a restart starts the period's count again). Checked when a request is admitted: requests already
/// running when the limit is reached finish and are charged, so a project can end a period slightly over.
/// </summary>
public sealed class SpendLedger
{
    private readonly Dictionary<(ulong, ulong), ProjectBudget> _budgets;
    private readonly ConcurrentDictionary<(ulong, ulong), Spend> _spent = new();
    private readonly TimeProvider _time;

    private sealed class Spend(DateTimeOffset periodStart)
    {
        public DateTimeOffset PeriodStart = periodStart;
        public decimal Usd;
    }

    public SpendLedger(IOptions<BudgetOptions> options, TimeProvider time)
    {
        _budgets = options.Value.Projects.ToDictionary(b => (b.OrganizationId, b.ProjectId));
        _time = time;
    }

    /// <summary>The 429 for a project whose budget for this period is spent; null when it may go on (or has no budget).</summary>
    public ChatError? Refusal(CallerPrincipal principal)
    {
        if (!_budgets.TryGetValue((principal.OrganizationId, principal.ProjectId), out var budget)) return null;
        var (start, next) = Period(budget, _time.GetUtcNow());
        var spent = _spent.TryGetValue((principal.OrganizationId, principal.ProjectId), out var s) ? Current(s, start) : 0m;
        if (spent < budget.LimitUsd) return null;
        var period = budget.Period.Equals("Day", StringComparison.OrdinalIgnoreCase) ? "daily" : "monthly";
        return new ChatError(ChatErrors.TooManyRequests,
            string.Create(CultureInfo.InvariantCulture, $"project {principal.ProjectId} has spent its {period} budget (${spent:0.########} of ${budget.LimitUsd}); it resets at {next:yyyy-MM-ddTHH:mm:ssZ}"),
            "This project has reached its spending limit for now; it resets at the start of the next period.");
    }

    /// <summary>Adds <paramref name="usd"/> to the project's spend in the current period (a project without a budget is not tracked).</summary>
    public void Charge(CallerPrincipal principal, decimal usd)
    {
        if (!_budgets.TryGetValue((principal.OrganizationId, principal.ProjectId), out var budget)) return;
        var (start, _) = Period(budget, _time.GetUtcNow());
        var spend = _spent.GetOrAdd((principal.OrganizationId, principal.ProjectId), _ => new Spend(start));
        lock (spend)
        {
            if (spend.PeriodStart < start) (spend.PeriodStart, spend.Usd) = (start, 0m);
            spend.Usd += usd;
        }
    }

    private static decimal Current(Spend spend, DateTimeOffset start)
    {
        lock (spend) return spend.PeriodStart < start ? 0m : spend.Usd;
    }

    private static (DateTimeOffset Start, DateTimeOffset Next) Period(ProjectBudget budget, DateTimeOffset now)
    {
        var utc = now.ToUniversalTime();
        if (budget.Period.Equals("Day", StringComparison.OrdinalIgnoreCase))
        {
            var day = new DateTimeOffset(utc.Year, utc.Month, utc.Day, 0, 0, 0, TimeSpan.Zero);
            return (day, day.AddDays(1));
        }
        var month = new DateTimeOffset(utc.Year, utc.Month, 1, 0, 0, 0, TimeSpan.Zero);
        return (month, month.AddMonths(1));
    }
}
