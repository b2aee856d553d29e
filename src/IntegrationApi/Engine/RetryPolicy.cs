using System.Text.Json;
using IntegrationApi.Chat;
using IntegrationApi.Providers;

namespace IntegrationApi.Engine;

/// <summary>
/// When a failed provider call is tried again, and what a raw failure means: shared by the chat engine and the
/// call engine (embeddings, reranking, moderation), so every RPC retries and classifies failures the same way.
/// </summary>
internal sealed class RetryPolicy(EngineOptions options, TimeProvider time)
{
    /// <summary>
    /// How long to wait before try <paramref name="attempt"/> + 1, or null when the failure is not transient, the
    /// retries are spent, the provider's <c>Retry-After</c> is longer than the service waits, or the wait would pass
    /// <paramref name="totalDeadline"/> (a timestamp of <c>time</c>).
    /// </summary>
    public TimeSpan? Delay(ProviderException ex, int attempt, long totalDeadline)
    {
        if (!ex.IsTransient || attempt > options.MaxRetries) return null;
        var delay = ex.RetryAfter ?? options.RetryBaseDelay * Math.Pow(2, attempt - 1) * (0.8 + 0.4 * Random.Shared.NextDouble());
        if (delay > options.MaxRetryDelay) return null;
        if (time.GetTimestamp() + (long)(delay.TotalSeconds * time.TimestampFrequency) >= totalDeadline) return null;
        return delay;
    }

    /// <summary>Failures that are not yet provider exceptions: a broken connection, a malformed chunk (<paramref name="what"/>) of the answer.</summary>
    public static Exception Classify(Exception ex, string provider, string what = "a chunk") => ex switch
    {
        ProviderException or ChatRequestException => ex,
        HttpRequestException or IOException => new ProviderException(ProviderErrorKind.UpstreamError, provider,
            $"{provider}: the connection failed while reading the answer ({ex.GetType().Name})", inner: ex),
        // The reader's own message names our internal types; the JSON path is what an engineer needs.
        JsonException json => new ProviderException(ProviderErrorKind.BadResponse, provider,
            $"{provider} sent {what} that could not be read (at JSON path {json.Path ?? "$"}, line {json.LineNumber})", retryable: false, inner: ex),
        _ => ex,
    };

    /// <summary>A failure as a contract error (400 for a request problem, the provider's code, else 500).</summary>
    public static ChatError ToError(Exception failure) => failure switch
    {
        ProviderException p => ChatErrors.From(p),
        ChatRequestException r => ChatErrors.From(r),
        _ => ChatErrors.InternalError(),
    };
}
