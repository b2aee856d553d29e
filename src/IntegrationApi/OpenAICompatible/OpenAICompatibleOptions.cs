using System.ComponentModel.DataAnnotations;
using IntegrationApi.Providers;
using Microsoft.Extensions.Options;

namespace IntegrationApi.OpenAICompatible;

/// <summary>The OpenAI-compatible HTTP surface (<c>OpenAICompatible</c> section; its listener is <c>Kestrel:Endpoints:OpenAI</c>).</summary>
public sealed class OpenAICompatibleOptions : IValidatableObject
{
    /// <summary>What <c>GET /v1/models</c> lists: <c>&lt;provider&gt;/&lt;model&gt;</c> ids the operator offers (none by default).</summary>
    public List<string> Models { get; set; } = [];

    /// <summary>Largest request body accepted (bytes); larger ones get a 413.</summary>
    [Range(1024, int.MaxValue)] public int MaxRequestBodyBytes { get; set; } = 16 * 1024 * 1024;

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        foreach (var model in Models)
        {
            var slash = model.IndexOf('/');
            if (slash <= 0 || slash == model.Length - 1 || !ProviderNames.All.Contains(model[..slash]))
                yield return new ValidationResult($"OpenAICompatible:Models: \"{model}\" must be <provider>/<model> with provider one of {string.Join(", ", ProviderNames.All)}");
        }
    }
}

/// <summary>Checks <see cref="OpenAICompatibleOptions"/> at start.</summary>
[OptionsValidator]
internal sealed partial class OpenAICompatibleOptionsValidator : IValidateOptions<OpenAICompatibleOptions>;
