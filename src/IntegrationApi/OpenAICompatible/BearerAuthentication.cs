using IntegrationApi.Auth;
using IntegrationApi.Metrics;

namespace IntegrationApi.OpenAICompatible;

/// <summary>
/// The caller's principal from <c>Authorization: Bearer …</c>: a project API key (as <c>x-api-key</c> on gRPC), or a
/// service JWT (as <c>x-internal-service-key</c>), checked by the same <see cref="CallerAuthenticator"/>. A refusal is
/// written as OpenAI's 401 body (503 when the key store cannot be read), counted and logged like the gRPC interceptor's.
/// </summary>
internal sealed partial class BearerAuthentication(CallerAuthenticator authenticator, GatewayMetrics metrics, ILogger<BearerAuthentication> logger)
{
    /// <summary>The principal, or null once the refusal has been written.</summary>
    public async ValueTask<CallerPrincipal?> AuthenticateAsync(HttpContext context)
    {
        var header = context.Request.Headers.Authorization.ToString();
        var token = header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) ? header[7..].Trim() : "";
        Authentication result;
        try
        {
            // A JWT has three dot-separated parts and a project key none; a JWT that fails is then tried as a key (and fails).
            var jwt = token.AsSpan().Count('.') == 2 ? token : null;
            result = token.Length == 0
                ? new Authentication(null, "missing Authorization: Bearer <project API key>") { Reason = AuthFailure.Missing }
                : await authenticator.AuthenticateAsync(jwt, token, context.RequestAborted).ConfigureAwait(false);
        }
        catch (Exception ex) when (CallerAuthenticator.IsStoreFailure(ex))
        {
            metrics.AuthFailed(AuthFailure.StoreUnavailable);
            Log.KeyStoreFailed(logger, ex);
            await OpenAIErrors.WriteAsync(context, 503, "caller authentication is unavailable; retry shortly", "unavailable").ConfigureAwait(false);
            return null;
        }
        if (result.Principal is { } principal) return principal;
        metrics.AuthFailed(result.Reason);
        Log.Refused(logger, result.Reason.Name(), context.Request.Path.Value ?? "");
        // The message speaks of the bearer token, not of gRPC metadata.
        var message = result.Reason == AuthFailure.Missing ? result.Failure : "the bearer token is not a valid project API key or service token";
        await OpenAIErrors.WriteAsync(context, 401, message, "invalid_api_key").ConfigureAwait(false);
        return null;
    }

    private static partial class Log
    {
        [LoggerMessage(300, LogLevel.Error, "Caller authentication failed (store_unavailable) on the OpenAI-compatible surface: the API key store could not be read")]
        public static partial void KeyStoreFailed(ILogger logger, Exception exception);

        [LoggerMessage(301, LogLevel.Warning, "Caller authentication refused ({Reason}) on OpenAI-compatible {Path}")]
        public static partial void Refused(ILogger logger, string reason, string path);
    }
}
