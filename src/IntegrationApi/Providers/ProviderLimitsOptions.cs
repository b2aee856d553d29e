using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace IntegrationApi.Providers;

/// <summary>Caps on what is read from any provider answer (bound from the <c>Providers</c> section itself).</summary>
public sealed class ProviderLimitsOptions : IValidatableObject
{
    /// <summary>Most bytes read from one answer (stream, JSON body, error body, token response) after decompression.</summary>
    [Range(64 * 1024, long.MaxValue)]
    public long MaxResponseBytes { get; set; } = 64L * 1024 * 1024;

    /// <summary>Most bytes between two line ends of an answer (one SSE line, a one-line JSON body).</summary>
    [Range(64 * 1024, int.MaxValue)]
    public int MaxLineBytes { get; set; } = 4 * 1024 * 1024;

    /// <summary>The rules between settings (the ranges are on the properties).</summary>
    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (MaxLineBytes > MaxResponseBytes) yield return new ValidationResult("Providers:MaxLineBytes must not exceed Providers:MaxResponseBytes");
    }
}

/// <summary>Checks <see cref="ProviderLimitsOptions"/> at start (generated from its attributes).</summary>
[OptionsValidator]
internal sealed partial class ProviderLimitsOptionsValidator : IValidateOptions<ProviderLimitsOptions>;
