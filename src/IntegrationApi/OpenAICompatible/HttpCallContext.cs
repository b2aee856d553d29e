using Grpc.Core;
using IntegrationApi.Auth;

namespace IntegrationApi.OpenAICompatible;

/// <summary>
/// An HTTP request seen as a gRPC call, so the surface can run the gRPC surface's own call flow (<c>CallRpc</c>: routing,
/// limits, engine, audit) unchanged: the principal this surface authenticated, the request's abort token, the audit's
/// enrichment headers. Nothing is written through it.
/// </summary>
internal sealed class HttpCallContext : ServerCallContext
{
    private static readonly string[] EnrichmentHeaders = ["x-client-source", "x-rapida-environment", "x-rapida-region"];
    private readonly HttpContext _http;
    private readonly Metadata _headers = [];

    public HttpCallContext(HttpContext http, CallerPrincipal principal)
    {
        _http = http;
        foreach (var name in EnrichmentHeaders)
            if (http.Request.Headers[name].ToString() is { Length: > 0 } value && value.All(c => c is >= ' ' and <= '~')) _headers.Add(name, value);
        AuthInterceptor.Attach(this, principal);
    }

    protected override string MethodCore => _http.Request.Path.Value ?? "";
    protected override string HostCore => _http.Request.Host.Value ?? "";
    protected override string PeerCore => _http.Connection.RemoteIpAddress?.ToString() ?? "";
    protected override DateTime DeadlineCore => DateTime.MaxValue;
    protected override Metadata RequestHeadersCore => _headers;
    protected override CancellationToken CancellationTokenCore => _http.RequestAborted;
    protected override Metadata ResponseTrailersCore { get; } = [];
    protected override Status StatusCore { get; set; }
    protected override WriteOptions? WriteOptionsCore { get; set; }
    protected override AuthContext AuthContextCore { get; } = new(null, new Dictionary<string, List<AuthProperty>>());

    protected override ContextPropagationToken CreatePropagationTokenCore(ContextPropagationOptions? options) =>
        throw new NotSupportedException("an HTTP request has no gRPC context to propagate");

    protected override Task WriteResponseHeadersAsyncCore(Metadata responseHeaders) => Task.CompletedTask;
}
