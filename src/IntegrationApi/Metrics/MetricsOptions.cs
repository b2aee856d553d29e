using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace IntegrationApi.Metrics;

/// <summary>Metrics and resource settings (<c>Metrics</c> section; docs/observability.md).</summary>
public sealed class MetricsOptions : IValidatableObject
{
    /// <summary>
    /// Model names kept as they are in the <c>model</c> and <c>gen_ai.request.model</c> tags; every other name is tagged
    /// <c>other</c>, so a caller cannot grow the series count. An entry ending in <c>*</c> names a family: any model
    /// starting with the rest is tagged with the rest (<c>gpt-4o*</c> tags <c>gpt-4o-2024-08-06</c> as <c>gpt-4o</c>;
    /// the longest matching entry wins). Matching ignores case. Unset: <see cref="ShippedModels"/>; setting it replaces
    /// that list (to tag every model <c>other</c>, set one entry no model has, e.g. <c>-</c>).
    /// </summary>
    public List<string>? Models { get; set; }

    /// <summary><c>service.instance.id</c> of the resource; empty: the host name and process id (<c>host:pid</c>).</summary>
    [MaxLength(256)] public string InstanceId { get; set; } = "";

    /// <summary>Common model families (taken 2025-06) tagged by name when <see cref="Models"/> is not set.</summary>
    public static IReadOnlyList<string> ShippedModels { get; } =
    [
        "gpt-5*", "gpt-5-mini*", "gpt-5-nano*", "gpt-4.1*", "gpt-4.1-mini*", "gpt-4.1-nano*", "gpt-4o*", "gpt-4o-mini*",
        "gpt-4-turbo*", "gpt-3.5-turbo*", "o1*", "o3*", "o3-mini*", "o4-mini*",
        "claude-opus-4*", "claude-sonnet-4*", "claude-haiku-4*", "claude-3-7-sonnet*", "claude-3-5-sonnet*", "claude-3-5-haiku*",
        "gemini-2.5-pro*", "gemini-2.5-flash*", "gemini-2.5-flash-lite*", "gemini-2.0-flash*", "gemini-1.5-pro*", "gemini-1.5-flash*",
        "mistral-large*", "mistral-medium*", "mistral-small*", "codestral*", "open-mistral-nemo*",
        "command-a*", "command-r*", "command-r-plus*",
    ];

    /// <summary>The list in force: <see cref="Models"/> when set, else <see cref="ShippedModels"/>.</summary>
    public IReadOnlyList<string> EffectiveModels => Models ?? (IReadOnlyList<string>)ShippedModels;

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (Models is { Count: > 1000 }) yield return new ValidationResult("Metrics:Models: at most 1000 entries (each is a series per provider and code)");
        if (Models is not null && Models.Any(m => string.IsNullOrWhiteSpace(m) || m.Length > 200 || m == "*"))
            yield return new ValidationResult("Metrics:Models: each entry is a model name of 1–200 characters, or a prefix followed by *");
    }
}

/// <summary>Checks <see cref="MetricsOptions"/> at start.</summary>
[OptionsValidator]
internal sealed partial class MetricsOptionsValidator : IValidateOptions<MetricsOptions>;
