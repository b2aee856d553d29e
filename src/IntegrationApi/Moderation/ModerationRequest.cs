using IntegrationApi.Chat;
using IntegrationApi.Engine;

namespace IntegrationApi.Moderation;

/// <summary>A text to classify for harmful content, provider-neutral.</summary>
public sealed record ModerationRequest(string Text, ModerationOptions Options, ProviderCredential Credential);

/// <summary>The parameters of a moderation request.</summary>
/// <param name="Model">The request's <c>model</c> field or <c>model.name</c>; null means the provider's default.</param>
/// <param name="Categories"><c>model.categories</c>: the categories to analyse (Azure); null means all.</param>
/// <param name="OutputType"><c>model.output_type</c>: Azure's <c>FourSeverityLevels</c> (default) or <c>EightSeverityLevels</c>.</param>
/// <param name="FlagSeverity"><c>model.flag_severity</c>: the Azure severity at which the text counts as flagged (default 4).</param>
public sealed record ModerationOptions(string? Model, IReadOnlyList<string>? Categories, string? OutputType, int FlagSeverity)
{
    public const string CategoriesKey = "model.categories";
    public const string OutputTypeKey = "model.output_type";
    public const string FlagSeverityKey = "model.flag_severity";

    /// <summary>Reads the parameters; <paramref name="model"/> is the request's own <c>model</c> field, which wins over <c>model.name</c>.</summary>
    public static ModerationOptions From(ModelParameters p, string? model)
    {
        var output = p.GetString(OutputTypeKey);
        if (output is not (null or "FourSeverityLevels" or "EightSeverityLevels"))
            throw new ChatRequestException($"modelParameters[\"{OutputTypeKey}\"] must be FourSeverityLevels or EightSeverityLevels");
        var flag = p.GetInt64(FlagSeverityKey) ?? 4;
        if (flag is < 0 or > 7) throw new ChatRequestException($"modelParameters[\"{FlagSeverityKey}\"] must be between 0 and 7");
        var categories = p.GetList(CategoriesKey);
        if (categories is not null && categories.Any(c => c.Length is 0 or > 64 || !c.All(char.IsAsciiLetter)))
            throw new ChatRequestException($"modelParameters[\"{CategoriesKey}\"] must be category names such as Hate,Sexual,SelfHarm,Violence");
        return new ModerationOptions(string.IsNullOrEmpty(model) ? p.GetString(ModelParameters.Name) : model, categories, output, (int)flag);
    }
}

/// <summary>One category's result: the provider's own category name and its score (OpenAI) or severity (Azure).</summary>
public readonly record struct ModerationScore(string Category, double Value);

/// <summary>What a moderation call answered.</summary>
public sealed record ModerationResult(bool Flagged, IReadOnlyList<ModerationScore> Scores) : ICallResult
{
    public TokenUsage? Usage => null;
}

/// <summary>An adapter that can classify a text for harmful content.</summary>
public interface IModerationProvider
{
    string Name { get; }

    /// <summary>Most characters one call may carry (a longer text is a 400).</summary>
    int MaxTextLength { get; }

    /// <summary>Classifies the text with one provider call.</summary>
    Task<ModerationResult> ModerateAsync(ModerationRequest request, CancellationToken cancellationToken);
}
