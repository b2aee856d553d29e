using IntegrationApi.Chat;

namespace IntegrationApi.Embeddings;

/// <summary>How vectors come back to the caller: numbers, or base64 of little-endian float32 (OpenAI's format).</summary>
public enum EmbeddingEncoding { Float, Base64 }

/// <summary>The <c>model.*</c> parameters of an embedding request, read and checked once.</summary>
public sealed record EmbeddingOptions
{
    public const string DimensionsKey = "model.dimensions";
    public const string OutputDimensionalityKey = "model.output_dimensionality"; // the original's Gemini/Vertex key
    public const string EncodingFormatKey = "model.encoding_format";
    public const string InputTypeKey = "model.input_type";
    public const string TaskTypeKey = "model.task_type";
    public const string TruncateKey = "model.truncate";

    /// <summary>The most dimensions any provider offers (Gemini's 3072, OpenAI's 3072, Cohere's 1536), with room to spare.</summary>
    public const int MaxDimensions = 65_536;

    /// <summary><c>model.name</c>; null means the provider's default embedding model.</summary>
    public string? Model { get; init; }

    /// <summary><c>model.dimensions</c> (or <c>model.output_dimensionality</c>): a shorter vector, where the model allows it.</summary>
    public int? Dimensions { get; init; }

    public EmbeddingEncoding Encoding { get; init; }

    /// <summary><c>model.input_type</c>: Cohere's <c>search_document</c>, <c>search_query</c>, <c>classification</c>, <c>clustering</c>.</summary>
    public string? InputKind { get; init; }

    /// <summary><c>model.task_type</c>: Google's task type (<c>RETRIEVAL_DOCUMENT</c>, …); derived from the input type when absent.</summary>
    public string? Task { get; init; }

    /// <summary><c>model.truncate</c>: <c>NONE</c>, <c>START</c> or <c>END</c>.</summary>
    public string? Truncation { get; init; }

    /// <summary><c>model.user</c> (OpenAI, Azure).</summary>
    public string? User { get; init; }

    /// <summary>Reads the parameters; an unreadable or out-of-range value is a 400 naming its key.</summary>
    public static EmbeddingOptions From(ModelParameters p)
    {
        var dims = p.GetInt64(DimensionsKey) ?? p.GetInt64(OutputDimensionalityKey) ?? p.GetInt64("model.output_dimension");
        if (dims is < 1 or > MaxDimensions) throw new ChatRequestException($"modelParameters[\"{DimensionsKey}\"] must be between 1 and {MaxDimensions}");
        var encoding = p.GetString(EncodingFormatKey)?.ToLowerInvariant() switch
        {
            null or "float" => EmbeddingEncoding.Float,
            "base64" => EmbeddingEncoding.Base64,
            _ => throw new ChatRequestException($"modelParameters[\"{EncodingFormatKey}\"] must be \"float\" or \"base64\""),
        };
        var truncate = p.GetString(TruncateKey)?.ToUpperInvariant();
        if (truncate is not (null or "NONE" or "START" or "END"))
            throw new ChatRequestException($"modelParameters[\"{TruncateKey}\"] must be NONE, START or END");
        var inputType = p.GetString(InputTypeKey)?.ToLowerInvariant();
        if (inputType is not (null or "search_document" or "search_query" or "classification" or "clustering" or "image"))
            throw new ChatRequestException($"modelParameters[\"{InputTypeKey}\"] must be search_document, search_query, classification or clustering");
        var task = p.GetString(TaskTypeKey)?.ToUpperInvariant();
        if (task is not null && !IsPlainWord(task))
            throw new ChatRequestException($"modelParameters[\"{TaskTypeKey}\"] must be a task type such as RETRIEVAL_DOCUMENT");
        return new EmbeddingOptions
        {
            Model = p.GetString(ModelParameters.Name),
            Dimensions = (int?)dims,
            Encoding = encoding,
            InputKind = inputType,
            Task = task ?? inputType switch
            {
                "search_document" => "RETRIEVAL_DOCUMENT",
                "search_query" => "RETRIEVAL_QUERY",
                "classification" => "CLASSIFICATION",
                "clustering" => "CLUSTERING",
                _ => null,
            },
            Truncation = truncate,
            User = p.GetString(ModelParameters.User),
        };
    }

    private static bool IsPlainWord(string s) => s.Length is > 0 and <= 64 && s.All(c => c is (>= 'A' and <= 'Z') or '_');
}
