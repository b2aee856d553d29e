using Grpc.Core;
using Grpc.Core.Interceptors;

namespace IntegrationApi.Auth;

/// <summary>Authenticates every Integration API call once, before its handler runs; failures end the call with Unauthenticated.</summary>
internal sealed class AuthInterceptor(CallerAuthenticator authenticator) : Interceptor
{
    private const string ProtectedPrefix = "/integration_api.";
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
        if (!context.Method.StartsWith(ProtectedPrefix, StringComparison.Ordinal)) return;
        var principal = authenticator.Authenticate(
            context.RequestHeaders.GetValue(CallerAuthenticator.ServiceKeyHeader),
            context.RequestHeaders.GetValue(CallerAuthenticator.ApiKeyHeader),
            out var failure);
        if (principal is null) throw new RpcException(new Status(StatusCode.Unauthenticated, failure));
        context.UserState[PrincipalKey] = principal;
    }
}
