using Grpc.Core;
using Grpc.Core.Interceptors;

namespace IntegrationApi.Auth;

/// <summary>
/// Authenticates every call once, before its handler runs; failures end the call with Unauthenticated.
/// Everything is protected except the exact, ordinal paths of gRPC health (and reflection when it is on):
/// <see cref="ServerCallContext.Method"/> is the path the client sent, and routing matches paths without
/// regard to case, so an allow-list of open paths (never a deny-list of protected prefixes) is what fails closed.
/// </summary>
internal sealed partial class AuthInterceptor(CallerAuthenticator authenticator, OpenMethods open, Metrics.GatewayMetrics metrics, ILogger<AuthInterceptor> logger) : Interceptor
{
    private static readonly object PrincipalKey = new();

    /// <summary>The principal the interceptor attached to <paramref name="context"/>.</summary>
    /// <summary>Attaches <paramref name="principal"/> to a call context made outside gRPC (the OpenAI-compatible surface authenticated it itself).</summary>
    internal static void Attach(ServerCallContext context, CallerPrincipal principal) => context.UserState[PrincipalKey] = principal;

    public static CallerPrincipal PrincipalOf(ServerCallContext context) =>
        context.UserState.TryGetValue(PrincipalKey, out var p) ? (CallerPrincipal)p : throw new RpcException(new Status(StatusCode.Unauthenticated, "not authenticated"));

    public override async Task<TResponse> UnaryServerHandler<TRequest, TResponse>(TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
    {
        await AuthenticateAsync(context).ConfigureAwait(false);
        return await continuation(request, context).ConfigureAwait(false);
    }

    // Not an async method when authentication completes at once (a cached key): a StreamChat call may stay open for
    // hours, idle, and this method's state machine would be kept for all that time (bench/results/idle-streams.md).
    public override Task DuplexStreamingServerHandler<TRequest, TResponse>(IAsyncStreamReader<TRequest> requestStream, IServerStreamWriter<TResponse> responseStream, ServerCallContext context, DuplexStreamingServerMethod<TRequest, TResponse> continuation)
    {
        var authenticated = AuthenticateAsync(context);
        return authenticated.IsCompletedSuccessfully
            ? continuation(requestStream, responseStream, context)
            : AuthenticatedThenAsync(authenticated, requestStream, responseStream, context, continuation);

        static async Task AuthenticatedThenAsync(ValueTask authenticated, IAsyncStreamReader<TRequest> requestStream, IServerStreamWriter<TResponse> responseStream,
            ServerCallContext context, DuplexStreamingServerMethod<TRequest, TResponse> continuation)
        {
            await authenticated.ConfigureAwait(false);
            await continuation(requestStream, responseStream, context).ConfigureAwait(false);
        }
    }

    public override async Task<TResponse> ClientStreamingServerHandler<TRequest, TResponse>(IAsyncStreamReader<TRequest> requestStream, ServerCallContext context, ClientStreamingServerMethod<TRequest, TResponse> continuation)
    {
        await AuthenticateAsync(context).ConfigureAwait(false);
        return await continuation(requestStream, context).ConfigureAwait(false);
    }

    public override async Task ServerStreamingServerHandler<TRequest, TResponse>(TRequest request, IServerStreamWriter<TResponse> responseStream, ServerCallContext context, ServerStreamingServerMethod<TRequest, TResponse> continuation)
    {
        await AuthenticateAsync(context).ConfigureAwait(false);
        await continuation(request, responseStream, context).ConfigureAwait(false);
    }

    /// <summary>Attaches the caller's principal to <paramref name="context"/>, or ends the call; synchronous unless a stored key must be read.</summary>
    private async ValueTask AuthenticateAsync(ServerCallContext context)
    {
        if (open.IsOpen(context.Method)) return;
        Authentication result;
        try
        {
            result = await authenticator.AuthenticateAsync(
                context.RequestHeaders.GetValue(CallerAuthenticator.ServiceKeyHeader),
                context.RequestHeaders.GetValue(CallerAuthenticator.ApiKeyHeader),
                context.CancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (CallerAuthenticator.IsStoreFailure(ex))
        {
            // The key store cannot be read: the caller is not at fault, and must not be let in either.
            metrics.AuthFailed(AuthFailure.StoreUnavailable);
            Log.KeyStoreFailed(logger, Quoted(context.Method), ex);
            throw new RpcException(new Status(StatusCode.Unavailable, "caller authentication is unavailable; retry shortly"));
        }
        if (result.Principal is not { } principal)
        {
            // One line per refused call, naming the reason and the method, never the credential: how often this logs is the caller's doing.
            metrics.AuthFailed(result.Reason);
            Log.Refused(logger, result.Reason.Name(), Quoted(context.Method));
            throw new RpcException(new Status(StatusCode.Unauthenticated, result.Failure));
        }
        context.UserState[PrincipalKey] = principal;
    }

    private static partial class Log
    {
        [LoggerMessage(50, LogLevel.Error, "Caller authentication failed (store_unavailable) on {Method}: the API key store could not be read")]
        public static partial void KeyStoreFailed(ILogger logger, string method, Exception exception);

        [LoggerMessage(53, LogLevel.Warning, "Caller authentication refused ({Reason}) on {Method}")]
        public static partial void Refused(ILogger logger, string reason, string method);
    }

    private const int MaxLoggedMethodChars = 200;

    /// <summary>
    /// The method path as the client sent it, made safe for a log line: in quotes, at most 200 characters, anything but
    /// printable ASCII (and the quote and backslash themselves) written as a <c>\uXXXX</c> escape.
    /// </summary>
    internal static string Quoted(string method)
    {
        var text = new System.Text.StringBuilder(Math.Min(method.Length, MaxLoggedMethodChars) + 8).Append('"');
        foreach (var c in method.Length > MaxLoggedMethodChars ? method.AsSpan(0, MaxLoggedMethodChars) : method.AsSpan())
        {
            if (c is >= ' ' and <= '~' and not '"' and not '\\') text.Append(c);
            else text.Append("\\u").Append(((int)c).ToString("x4", System.Globalization.CultureInfo.InvariantCulture));
        }
        if (method.Length > MaxLoggedMethodChars) text.Append('…');
        return text.Append('"').ToString();
    }
}

/// <summary>The method paths callable without a principal: gRPC health always, server reflection only when enabled.</summary>
internal sealed class OpenMethods(bool reflectionEnabled)
{
    /// <summary>Whether server reflection is mapped (and open).</summary>
    public bool ReflectionEnabled => reflectionEnabled;

    private static readonly string[] Health = ["/grpc.health.v1.Health/Check", "/grpc.health.v1.Health/Watch", "/grpc.health.v1.Health/List"];
    private static readonly string[] Reflection = ["/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo", "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo"];

    /// <summary>True for an exact (ordinal) match of an open path; every other spelling needs a principal.</summary>
    public bool IsOpen(string method) =>
        Array.IndexOf(Health, method) >= 0 || (reflectionEnabled && Array.IndexOf(Reflection, method) >= 0);
}
