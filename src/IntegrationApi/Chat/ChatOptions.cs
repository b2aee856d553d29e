using System.Text.Json;

namespace IntegrationApi.Chat;

/// <summary>
/// The request's <c>model.*</c> parameters, read and checked once where the request enters (<see cref="From"/>);
/// translators read only this. Shaped after Microsoft.Extensions.AI's <c>ChatOptions</c>.
/// </summary>
public sealed record ChatOptions
{
    /// <summary>Longest <c>model.name</c> accepted; real model and deployment names are far shorter.</summary>
    public const int MaxModelNameLength = 256;

    /// <summary><c>model.name</c>: text of at most <see cref="MaxModelNameLength"/> characters without control characters.</summary>
    public required string ModelId { get; init; }

    /// <summary><c>model.max_completion_tokens</c>, else <c>model.max_tokens</c>.</summary>
    public long? MaxOutputTokens { get; init; }

    public double? Temperature { get; init; }
    public double? TopP { get; init; }
    public long? TopK { get; init; }
    public IReadOnlyList<string>? StopSequences { get; init; }
    public long? Seed { get; init; }
    public double? FrequencyPenalty { get; init; }
    public double? PresencePenalty { get; init; }

    /// <summary><c>model.tool_choice</c>; each provider sends it only with tools.</summary>
    public ChatToolMode? ToolMode { get; init; }

    /// <summary><c>model.response_format</c> as the caller wrote it (its keys differ per provider).</summary>
    public JsonElement? ResponseFormat { get; init; }

    public string? ReasoningEffort { get; init; }
    public ChatThinking? Thinking { get; init; }

    /// <summary><c>model.include_reasoning</c>: stream reasoning text as deltas of content type <c>reasoning</c> (docs/contract.md §8.2).</summary>
    public bool IncludeReasoning { get; init; }
    public string? User { get; init; }
    public string? ServiceTier { get; init; }
    public long? TopLogprobs { get; init; }
    public JsonElement? Metadata { get; init; }

    /// <summary>Every parameter as sent, for keys only one provider knows.</summary>
    public ModelParameters Extras { get; init; } = ModelParameters.Empty;

    /// <summary>
    /// Reads every known key of <paramref name="p"/>; a missing <c>model.name</c> or a value that cannot be read as
    /// its key's type is a 400 naming <c>modelParameters["model.x"]</c>, whichever provider serves the request.
    /// </summary>
    public static ChatOptions From(ModelParameters p)
    {
        var maxCompletionTokens = p.GetInt64(ModelParameters.MaxCompletionTokens);
        var maxTokens = p.GetInt64(ModelParameters.MaxTokens);
        return new ChatOptions
        {
            ModelId = ModelName(p),
            MaxOutputTokens = maxCompletionTokens ?? maxTokens,
            Temperature = p.GetDouble(ModelParameters.Temperature),
            TopP = p.GetDouble(ModelParameters.TopP),
            TopK = p.GetInt64(ModelParameters.TopK),
            StopSequences = p.GetList(ModelParameters.Stop),
            Seed = p.GetInt64(ModelParameters.Seed),
            FrequencyPenalty = p.GetDouble(ModelParameters.FrequencyPenalty),
            PresencePenalty = p.GetDouble(ModelParameters.PresencePenalty),
            ToolMode = ReadToolMode(p.GetString(ModelParameters.ToolChoice)),
            ResponseFormat = p.GetObject(ModelParameters.ResponseFormat),
            ReasoningEffort = p.GetString(ModelParameters.ReasoningEffort),
            Thinking = ChatThinking.From(p.GetObject(ModelParameters.Thinking)),
            IncludeReasoning = p.GetBool(ModelParameters.IncludeReasoning) ?? false,
            User = p.GetString(ModelParameters.User),
            ServiceTier = p.GetString(ModelParameters.ServiceTier),
            TopLogprobs = p.GetInt64(ModelParameters.TopLogprobs),
            Metadata = p.GetObject(ModelParameters.Metadata),
            Extras = p,
        };
    }

    /// <summary>The model name goes into URLs, metrics and audit: required, bounded, printable.</summary>
    private static string ModelName(ModelParameters p)
    {
        var name = p.GetString(ModelParameters.Name)
            ?? throw new ChatRequestException($"modelParameters[\"{ModelParameters.Name}\"] is required");
        if (name.Length > MaxModelNameLength)
            throw new ChatRequestException($"modelParameters[\"{ModelParameters.Name}\"] is longer than {MaxModelNameLength} characters");
        if (name.Any(char.IsControl))
            throw new ChatRequestException($"modelParameters[\"{ModelParameters.Name}\"] contains control characters");
        return name;
    }

    private static ChatToolMode? ReadToolMode(string? choice) => choice?.ToLowerInvariant() switch
    {
        null => null,
        "auto" => ChatToolMode.Auto,
        "required" => ChatToolMode.Required,
        "none" => ChatToolMode.None,
        _ => throw new ChatRequestException($"modelParameters[\"{ModelParameters.ToolChoice}\"] must be auto, required or none"),
    };
}

/// <summary>Whether and how the model may call the request's tools.</summary>
public enum ChatToolMode { Auto, Required, None }

/// <summary>
/// <c>model.thinking</c> in both shapes callers send: Anthropic's (<c>{"enabled":true,"budget_tokens":N}</c> or the
/// API's <c>{"type":"enabled","budget_tokens":N}</c>) and Google's (<c>{"include_thoughts":…,"thinking_budget":N}</c>).
/// A budget that is not a whole number is left null; whether that is an error is the provider's call.
/// </summary>
public sealed record ChatThinking(bool Enabled, long? BudgetTokens, bool? IncludeThoughts, long? ThinkingBudget)
{
    /// <summary>The switches in a <c>model.thinking</c> object, or null when there is none.</summary>
    public static ChatThinking? From(JsonElement? thinking)
    {
        if (thinking is not { } t) return null;
        var enabled = (t.TryGetProperty("enabled", out var e) && e.ValueKind == JsonValueKind.True)
            || (t.TryGetProperty("type", out var type) && type.ValueKind == JsonValueKind.String && type.GetString() == "enabled");
        bool? include = t.TryGetProperty("include_thoughts", out var i) && i.ValueKind is JsonValueKind.True or JsonValueKind.False ? i.GetBoolean() : null;
        return new ChatThinking(enabled, WholeNumber(t, "budget_tokens"), include, WholeNumber(t, "thinking_budget"));
    }

    private static long? WholeNumber(JsonElement o, string name) =>
        o.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number && v.TryGetInt64(out var n) ? n : null;
}
