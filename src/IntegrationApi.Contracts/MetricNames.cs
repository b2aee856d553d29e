namespace IntegrationApi.Contracts;

/// <summary>The names of the metrics on a terminal <see cref="ChatResponse"/> and an audit log, as the original service used them.</summary>
public static class MetricNames
{
    /// <summary>The request's id (equal to <c>ChatResponse.requestId</c>).</summary>
    public const string RequestId = "LLM_REQUEST_ID";
    /// <summary><see cref="StatusSuccess"/> or <see cref="StatusFailed"/>.</summary>
    public const string Status = "STATUS";
    /// <summary>Nanoseconds from the start of the request to its terminal.</summary>
    public const string TimeTaken = "TIME_TAKEN";
    /// <summary>Nanoseconds from the start of the request to the first text or tool-call fragment.</summary>
    public const string TimeToFirstToken = "TIME_TO_FIRST_TOKEN";
    public const string InputTokens = "INPUT_TOKEN";
    public const string OutputTokens = "OUTPUT_TOKEN";
    public const string TotalTokens = "TOTAL_TOKEN";
    /// <summary>The part of the input tokens served from the provider's prompt cache.</summary>
    public const string CachedInputTokens = "CACHED_INPUT_TOKEN";
    /// <summary>Output tokens the model spent reasoning.</summary>
    public const string ReasoningTokens = "REASONING_TOKEN";
    /// <summary>The part of the input tokens written to the provider's prompt cache (Anthropic <c>cache_creation_input_tokens</c>).</summary>
    public const string CacheWriteInputTokens = "CACHE_WRITE_INPUT_TOKEN";

    /// <summary>The provider that served the request (or, when every target failed, the last one that ran).</summary>
    public const string ProviderName = "PROVIDER_NAME";
    /// <summary>The model that served the request (or the last one that ran).</summary>
    public const string ModelName = "MODEL_NAME";
    /// <summary>How many targets the request ran on (the primary, fallbacks, hedges).</summary>
    public const string Attempts = "ATTEMPTS";
    /// <summary>What the answer cost in US dollars at the service's configured list prices (invariant, at most 8 decimals); absent when the model is not priced.</summary>
    public const string CostUsd = "COST_USD";

    public const string StatusSuccess = "SUCCESS";
    public const string StatusFailed = "FAILED";
}
