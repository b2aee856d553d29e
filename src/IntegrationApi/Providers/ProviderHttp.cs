using System.Buffers;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;

namespace IntegrationApi.Providers;

/// <summary>Sending a provider request and turning a non-success answer into a <see cref="ProviderException"/>.</summary>
internal static class ProviderHttp
{
    /// <summary>Most of an error body read: enough for any provider's message, never a whole hostile answer.</summary>
    private const int MaxErrorBodyBytes = 64 * 1024;

    /// <summary>
    /// Sends <paramref name="request"/> reading headers only, so the body can stream. A connection failure
    /// becomes a transient <see cref="ProviderErrorKind.UpstreamError"/>; a non-2xx status becomes the kind
    /// its status means, with the provider's own message read from the body by <paramref name="describeError"/>.
    /// (Redirects never get here: <see cref="ResponseGuardHandler"/> refuses them.)
    /// </summary>
    public static async Task<HttpResponseMessage> SendAsync(
        HttpClient client, HttpRequestMessage request, string provider,
        Func<string, ProviderErrorDescription> describeError, CancellationToken cancellationToken)
    {
        HttpResponseMessage response;
        try
        {
            response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
        }
        catch (HttpRequestException ex) when (!cancellationToken.IsCancellationRequested)
        {
            throw new ProviderException(ProviderErrorKind.UpstreamError, provider,
                $"{provider}: connection failed ({ex.HttpRequestError})", inner: ex);
        }

        if (response.IsSuccessStatusCode) return response;

        using (response)
        {
            var status = (int)response.StatusCode;
            // Untruncated (the read is bounded): the engine redacts credential values first, then truncates.
            var body = await ReadErrorBodyAsync(response, cancellationToken).ConfigureAwait(false);
            var described = describeError(body);
            var message = $"{provider} returned HTTP {status}: {described.Message ?? (body.Length == 0 ? "(empty body)" : body)}";
            if (RequestId(response) is { } id) message += $" (request id {id})";
            throw new ProviderException(described.Kind ?? KindOf(response.StatusCode), provider, message, status,
                RetryAfter(response.Headers) ?? described.RetryAfter, retryable: !described.NotRetryable);
        }
    }

    /// <summary>Sends a credential check and reads nothing of a successful answer; a refusal throws like any call.</summary>
    public static async Task VerifyAsync(HttpClient client, HttpRequestMessage request, string provider,
        Func<string, ProviderErrorDescription> describeError, CancellationToken cancellationToken)
    {
        using (request)
        using (await SendAsync(client, request, provider, describeError, cancellationToken).ConfigureAwait(false)) { }
    }

    /// <summary>A request body: <paramref name="value"/> as UTF-8 JSON, with its length known (no chunked upload).</summary>
    public static ByteArrayContent JsonBody<T>(T value, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> typeInfo)
    {
        var content = new ByteArrayContent(System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(value, typeInfo));
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        return content;
    }

    /// <summary>The error kind an HTTP status stands for.</summary>
    public static ProviderErrorKind KindOf(HttpStatusCode status) => (int)status switch
    {
        401 or 498 => ProviderErrorKind.Unauthorized, // 498: Cohere's invalid token
        402 or 403 => ProviderErrorKind.Forbidden,
        404 => ProviderErrorKind.NotFound,
        408 or 504 => ProviderErrorKind.Timeout,
        413 => ProviderErrorKind.RequestTooLarge,
        429 => ProviderErrorKind.RateLimited,
        503 or 529 => ProviderErrorKind.Overloaded,
        >= 500 => ProviderErrorKind.UpstreamError,
        _ => ProviderErrorKind.InvalidRequest,
    };

    /// <summary><c>retry-after-ms</c>, else <c>retry-after</c> in seconds or as an HTTP date.</summary>
    public static TimeSpan? RetryAfter(HttpResponseHeaders headers)
    {
        if (headers.TryGetValues("retry-after-ms", out var ms)
            && double.TryParse(ms.FirstOrDefault(), NumberStyles.Float, CultureInfo.InvariantCulture, out var millis) && millis >= 0)
            return TimeSpan.FromMilliseconds(millis);
        if (headers.RetryAfter is { } ra)
        {
            if (ra.Delta is { } delta) return delta;
            if (ra.Date is { } date) return date - DateTimeOffset.UtcNow is var d && d > TimeSpan.Zero ? d : TimeSpan.Zero;
        }
        return null;
    }

    private static string? RequestId(HttpResponseMessage response) =>
        response.Headers.TryGetValues("x-request-id", out var v) || response.Headers.TryGetValues("request-id", out v)
            ? v.FirstOrDefault() : null;

    /// <summary>At most <see cref="MaxErrorBodyBytes"/> of the body, as UTF-8 text; the rest is never read.</summary>
    private static async Task<string> ReadErrorBodyAsync(HttpResponseMessage response, CancellationToken ct)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(MaxErrorBodyBytes);
        try
        {
            await using var body = await response.Content.ReadAsStreamAsync(ct).ConfigureAwait(false);
            var read = await body.ReadAtLeastAsync(buffer.AsMemory(0, MaxErrorBodyBytes), MaxErrorBodyBytes, throwOnEndOfStream: false, ct).ConfigureAwait(false);
            return System.Text.Encoding.UTF8.GetString(buffer, 0, read);
        }
        catch (Exception ex) when (ex is HttpRequestException or IOException or ProviderException)
        {
            return "";
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}

/// <summary>
/// What a provider's error body says: its message; whether retrying is pointless (e.g. a quota); a kind
/// the status alone would get wrong (Gemini's bad key is a 400); a retry delay given in the body.
/// </summary>
internal readonly record struct ProviderErrorDescription(
    string? Message, bool NotRetryable = false, ProviderErrorKind? Kind = null, TimeSpan? RetryAfter = null);
