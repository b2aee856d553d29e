using IntegrationApi.Engine;

namespace IntegrationApi.OpenAICompatible;

/// <summary>Contract codes (docs/contract.md §4) as OpenAI error bodies: the HTTP status is the code itself.</summary>
internal static class OpenAIErrors
{
    /// <summary>The body OpenAI's SDKs read: <c>{"error":{"message","type","code"}}</c>.</summary>
    public static ErrorBody Body(int status, string message, string? code = null) =>
        new(new ErrorDetail(message, TypeOf(status), code ?? CodeOf(status)));

    /// <summary>An engine error (the engineer message: it names the provider's own status and message, secrets redacted).</summary>
    public static ErrorBody Body(ChatError error) => Body(error.Code, error.Message);

    /// <summary>Writes <paramref name="body"/> with <paramref name="status"/> (499 is sent as is; the client is gone anyway).</summary>
    public static Task WriteAsync(HttpContext context, int status, ErrorBody body)
    {
        context.Response.StatusCode = status;
        return context.Response.WriteAsJsonAsync(body, OpenAIWireContext.Default.ErrorBody, contentType: "application/json", context.RequestAborted);
    }

    public static Task WriteAsync(HttpContext context, int status, string message, string? code = null) =>
        WriteAsync(context, status, Body(status, message, code));

    // OpenAI's own type names, so SDKs and agent frameworks classify the failure as they would OpenAI's.
    private static string TypeOf(int status) => status switch
    {
        401 => "authentication_error",
        403 => "permission_error",
        404 => "not_found_error",
        429 => "rate_limit_error",
        >= 400 and < 500 => "invalid_request_error",
        _ => "api_error",
    };

    private static string CodeOf(int status) => status switch
    {
        400 => "invalid_request",
        401 => "provider_unauthorized",
        403 => "provider_forbidden",
        404 => "model_not_found",
        409 => "conflict",
        413 => "request_too_large",
        429 => "rate_limit_exceeded",
        499 => "cancelled",
        500 => "internal_error",
        502 => "bad_gateway",
        503 => "unavailable",
        504 => "timeout",
        _ => "error",
    };
}
