using IntegrationApi.Chat;
using IntegrationApi.Providers;

namespace IntegrationApi.Engine;

/// <summary>The one table from failures to contract codes (docs/contract.md §4).</summary>
public static class ChatErrors
{
    public const int InvalidRequest = 400;
    public const int Unauthorized = 401;
    public const int Duplicate = 409;
    public const int TooManyRequests = 429;
    public const int Cancelled = 499;
    public const int Internal = 500;
    public const int Unavailable = 503;
    public const int Timeout = 504;

    /// <summary>A provider failure as a contract error.</summary>
    public static ChatError From(ProviderException ex) => ex.Kind switch
    {
        ProviderErrorKind.InvalidRequest => new(400, ex.Message, "The provider rejected the request."),
        ProviderErrorKind.Unauthorized => new(401, ex.Message, "The provider rejected the credential."),
        ProviderErrorKind.Forbidden => new(403, ex.Message, "The provider refused the request."),
        ProviderErrorKind.NotFound => new(404, ex.Message, "The model was not found."),
        ProviderErrorKind.RequestTooLarge => new(413, ex.Message, "The request is too large for the provider."),
        ProviderErrorKind.RateLimited => new(429, ex.Message, "The provider is rate limiting requests; try again shortly."),
        ProviderErrorKind.Overloaded => new(503, ex.Message, "The provider is overloaded; try again shortly."),
        ProviderErrorKind.Timeout => new(504, ex.Message, "The provider timed out."),
        ProviderErrorKind.StreamTruncated => new(502, ex.Message, "The provider's answer was cut off."),
        _ => new(502, ex.Message, "The provider failed to answer."),
    };

    /// <summary>An invalid request (400).</summary>
    public static ChatError From(ChatRequestException ex) => new(InvalidRequest, ex.Message, "The request is invalid: " + ex.Message);

    public static ChatError CancelledByClient() => new(Cancelled, "cancelled by the client", "The request was cancelled.");

    public static ChatError Draining() => new(Unavailable, "the server is draining this stream; reopen the stream and retry", "The service is restarting; please retry.");

    public static ChatError DuplicateId(string id) => new(Duplicate, $"clientRequestId \"{id}\" is already in flight on this stream", "A request with this id is already running.");

    public static ChatError RateLimited(string why) => new(TooManyRequests, why, "Too many requests; try again shortly.");

    public static ChatError QueueFull(int limit) => new(TooManyRequests, $"too many requests on this stream (more than {limit} waiting)", "Too many requests; try again shortly.");

    public static ChatError TokenExpired() => new(Unauthorized, "the caller's token expired; reopen the stream with a fresh token", "Your session expired; please reconnect.");

    public static ChatError KeyRevoked() => new(Unauthorized, "the caller's project API key was revoked; reopen the stream with a valid key", "Your access was revoked.");

    public static ChatError TimedOut(string what, TimeSpan limit) => new(Timeout, $"timed out: {what} after {limit.TotalSeconds:0.###} s", "The provider took too long to answer.");

    public static ChatError CallDeadlinePassed() => new(Timeout, "the call's deadline passed before the answer was complete", "The request took too long.");

    public static ChatError InternalError() => new(Internal, "internal error", "Something went wrong; please retry.");
}
