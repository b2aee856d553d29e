using System.Globalization;
using System.Text.Json;

namespace IntegrationApi.Chat;

/// <summary>
/// The request's <c>model.*</c> parameters, each held as JSON. Typed getters accept the loose shapes
/// the original accepted (a number sent as a string, JSON sent as a string) and throw a 400 naming the
/// key when a value cannot be read as asked.
/// </summary>
public sealed class ModelParameters(IReadOnlyDictionary<string, JsonElement> values)
{
    public const string Name = "model.name";
    public const string Temperature = "model.temperature";
    public const string TopP = "model.top_p";
    public const string TopK = "model.top_k";
    public const string MaxCompletionTokens = "model.max_completion_tokens";
    public const string MaxTokens = "model.max_tokens";
    public const string Stop = "model.stop";
    public const string ToolChoice = "model.tool_choice";
    public const string ResponseFormat = "model.response_format";
    public const string Seed = "model.seed";
    public const string User = "model.user";
    public const string ReasoningEffort = "model.reasoning_effort";
    public const string ServiceTier = "model.service_tier";
    public const string TopLogprobs = "model.top_logprobs";
    public const string Metadata = "model.metadata";
    public const string FrequencyPenalty = "model.frequency_penalty";
    public const string PresencePenalty = "model.presence_penalty";
    public const string Thinking = "model.thinking";
    public const string IncludeReasoning = "model.include_reasoning";

    /// <summary>No parameters.</summary>
    public static ModelParameters Empty { get; } = new(new Dictionary<string, JsonElement>());

    /// <summary>The keys present.</summary>
    public IEnumerable<string> Keys => values.Keys;

    /// <summary>A string value (numbers and booleans as their text), or null when absent or empty.</summary>
    public string? GetString(string key)
    {
        if (!values.TryGetValue(key, out var v)) return null;
        var s = v.ValueKind switch
        {
            JsonValueKind.String => v.GetString(),
            JsonValueKind.Number or JsonValueKind.True or JsonValueKind.False => v.GetRawText(),
            JsonValueKind.Null or JsonValueKind.Undefined => null,
            _ => throw Invalid(key, "a string"),
        };
        return string.IsNullOrEmpty(s) ? null : s;
    }

    /// <summary>A finite number, from a JSON number or a numeric string ("NaN" and "Infinity" are refused: JSON has no such number).</summary>
    public double? GetDouble(string key)
    {
        if (!values.TryGetValue(key, out var v)) return null;
        double? number = v.ValueKind switch
        {
            JsonValueKind.Number when v.TryGetDouble(out var n) => n,
            JsonValueKind.String when string.IsNullOrWhiteSpace(v.GetString()) => null,
            JsonValueKind.String when double.TryParse(v.GetString(), NumberStyles.Float, CultureInfo.InvariantCulture, out var d) => d,
            JsonValueKind.Null => null,
            _ => throw Invalid(key, "a number"),
        };
        return number is { } x && !double.IsFinite(x) ? throw Invalid(key, "a finite number") : number;
    }

    /// <summary>A whole number, from a JSON number or a numeric string, within the range of a 64-bit integer.</summary>
    public long? GetInt64(string key)
    {
        var d = GetDouble(key);
        if (d is null) return null;
        // 2^63 itself does not fit; every double below it that is whole does.
        if (d != Math.Floor(d.Value) || d.Value >= 9.2233720368547758E18 || d.Value < -9.2233720368547758E18) throw Invalid(key, "a whole number");
        return (long)d.Value;
    }

    /// <summary>A boolean, from a JSON boolean or "true"/"false".</summary>
    public bool? GetBool(string key)
    {
        if (!values.TryGetValue(key, out var v)) return null;
        return v.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            JsonValueKind.String when bool.TryParse(v.GetString(), out var b) => b,
            JsonValueKind.Null => null,
            _ => throw Invalid(key, "a boolean"),
        };
    }

    /// <summary>A JSON object, given either as a structured value or as JSON text in a string.</summary>
    public JsonElement? GetObject(string key)
    {
        if (!values.TryGetValue(key, out var v)) return null;
        switch (v.ValueKind)
        {
            case JsonValueKind.Object: return v;
            case JsonValueKind.Null: return null;
            case JsonValueKind.String:
                var text = v.GetString();
                if (string.IsNullOrWhiteSpace(text)) return null;
                try
                {
                    using var doc = JsonDocument.Parse(text);
                    if (doc.RootElement.ValueKind == JsonValueKind.Object) return doc.RootElement.Clone();
                }
                catch (JsonException) { }
                throw Invalid(key, "a JSON object");
            default: throw Invalid(key, "a JSON object");
        }
    }

    /// <summary>A list of strings, from a JSON array or comma-separated text (the original's <c>model.stop</c>).</summary>
    public IReadOnlyList<string>? GetList(string key)
    {
        if (!values.TryGetValue(key, out var v)) return null;
        if (v.ValueKind == JsonValueKind.Array)
        {
            var list = new List<string>();
            foreach (var item in v.EnumerateArray())
                list.Add(item.ValueKind == JsonValueKind.String ? item.GetString()! : throw Invalid(key, "a list of strings"));
            return list.Count == 0 ? null : list;
        }
        var s = GetString(key);
        if (s is null) return null;
        var parts = s.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        return parts.Length == 0 ? null : parts;
    }

    private static ChatRequestException Invalid(string key, string expected) =>
        new($"modelParameters[\"{key}\"] must be {expected}");
}
