namespace IntegrationApi.Providers;

/// <summary>How a provider call failed; the engine maps each kind to one contract code.</summary>
public enum ProviderErrorKind
{
    /// <summary>The provider rejected the request as invalid (400, 422).</summary>
    InvalidRequest,
    /// <summary>The provider rejected the credential (401).</summary>
    Unauthorized,
    /// <summary>The provider refused: region, policy, billing (402, 403).</summary>
    Forbidden,
    /// <summary>Unknown model or route (404).</summary>
    NotFound,
    /// <summary>The request is too large for the provider (413).</summary>
    RequestTooLarge,
    /// <summary>Rate limited (429); retryable unless it is a quota.</summary>
    RateLimited,
    /// <summary>The provider failed (5xx) or the connection failed; retryable before the first delta.</summary>
    UpstreamError,
    /// <summary>The provider is overloaded or unavailable (503, 529); retryable before the first delta.</summary>
    Overloaded,
    /// <summary>The provider timed out (504, 408).</summary>
    Timeout,
    /// <summary>The provider's answer could not be understood (malformed JSON, unexpected shape).</summary>
    BadResponse,
    /// <summary>The stream ended without the provider's terminal signal.</summary>
    StreamTruncated,
}

/// <summary>A provider call failed. The message is for engineers and never holds the credential.</summary>
public sealed class ProviderException(
    ProviderErrorKind kind, string provider, string message, int? httpStatus = null,
    TimeSpan? retryAfter = null, bool retryable = true, Exception? inner = null)
    : Exception(message, inner)
{
    public ProviderErrorKind Kind { get; } = kind;
    public string Provider { get; } = provider;
    public int? HttpStatus { get; } = httpStatus;
    public TimeSpan? RetryAfter { get; } = retryAfter;

    /// <summary>Whether a retry could help (false e.g. for an exhausted quota).</summary>
    public bool IsTransient { get; } = retryable && kind is ProviderErrorKind.RateLimited or ProviderErrorKind.UpstreamError or ProviderErrorKind.Overloaded;
}
