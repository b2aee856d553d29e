using Grpc.Core;
using Grpc.Core.Interceptors;

namespace IntegrationApi.Auth;

/// <summary>
/// Authenticates every call once, before its handler runs; failures end the call with Unauthenticated.
/// Everything is protected except the exact, ordinal paths of gRPC health (and reflection when it is on):
/// <see cref="ServerCallContext.Method"/> is the path the client sent, and routing matches paths without
/// regard to case, so an allow-list of open paths (never a deny-list of protected prefixes) is what fails closed.
/// </summary>
internal sealed partial class AuthInterceptor(CallerAuthenticator authenticator, OpenMethods open, ILogger<AuthInterceptor> logger) : Interceptor
{
    private static readonly object PrincipalKey = new();

    /// <summary>The principal the interceptor attached to <paramref name="context"/>.</summary>
    public static CallerPrincipal PrincipalOf(ServerCallContext context) =>
        context.UserState.TryGetValue(PrincipalKey, out var p) ? (CallerPrincipal)p : throw new RpcException(new Status(StatusCode.Unauthenticated, "not authenticated"));

    public override async Task<TResponse> UnaryServerHandler<TRequest, TResponse>(TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
    {
        await AuthenticateAsync(context).ConfigureAwait(false);
        return await continuation(request, context).ConfigureAwait(false);
    }

    public override async Task DuplexStreamingServerHandler<TRequest, TResponse>(IAsyncStreamReader<TRequest> requestStream, IServerStreamWriter<TResponse> responseStream, ServerCallContext context, DuplexStreamingServerMethod<TRequest, TResponse> continuation)
    {
        await AuthenticateAsync(context).ConfigureAwait(false);
        await continuation(requestStream, responseStream, context).ConfigureAwait(false);
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
            Log.KeyStoreFailed(logger, ex);
            throw new RpcException(new Status(StatusCode.Unavailable, "caller authentication is unavailable; retry shortly"));
        }
        if (result.Principal is not { } principal) throw new RpcException(new Status(StatusCode.Unauthenticated, result.Failure));
        context.UserState[PrincipalKey] = principal;
    }

    private static partial class Log
    {
        [LoggerMessage(50, LogLevel.Error, "Caller authentication failed: the API key store could not be read")]
        public static partial void KeyStoreFailed(ILogger logger, Exception exception);
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
