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

    public override Task<TResponse> UnaryServerHandler<TRequest, TResponse>(TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
    {
        Authenticate(context);
        return continuation(request, context);
    }

    public override Task DuplexStreamingServerHandler<TRequest, TResponse>(IAsyncStreamReader<TRequest> requestStream, IServerStreamWriter<TResponse> responseStream, ServerCallContext context, DuplexStreamingServerMethod<TRequest, TResponse> continuation)
    {
        Authenticate(context);
        return continuation(requestStream, responseStream, context);
    }

    public override Task<TResponse> ClientStreamingServerHandler<TRequest, TResponse>(IAsyncStreamReader<TRequest> requestStream, ServerCallContext context, ClientStreamingServerMethod<TRequest, TResponse> continuation)
    {
        Authenticate(context);
        return continuation(requestStream, context);
    }

    public override Task ServerStreamingServerHandler<TRequest, TResponse>(TRequest request, IServerStreamWriter<TResponse> responseStream, ServerCallContext context, ServerStreamingServerMethod<TRequest, TResponse> continuation)
    {
        Authenticate(context);
        return continuation(request, responseStream, context);
    }

    private void Authenticate(ServerCallContext context)
    {
        if (open.IsOpen(context.Method)) return;
        CallerPrincipal? principal;
        string failure;
        try
        {
            principal = authenticator.Authenticate(
                context.RequestHeaders.GetValue(CallerAuthenticator.ServiceKeyHeader),
                context.RequestHeaders.GetValue(CallerAuthenticator.ApiKeyHeader),
                out failure);
        }
        catch (Exception ex) when (ex is System.Data.Common.DbException or InvalidOperationException or IOException or TimeoutException)
        {
            // The key store cannot be read: the caller is not at fault, and must not be let in either.
            Log.KeyStoreFailed(logger, ex);
            throw new RpcException(new Status(StatusCode.Unavailable, "caller authentication is unavailable; retry shortly"));
        }
        if (principal is null) throw new RpcException(new Status(StatusCode.Unauthenticated, failure));
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
