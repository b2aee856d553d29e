using Grpc.Core;

namespace IntegrationApi.Client;

/// <summary>How an <see cref="IntegrationClient"/> shares its streams.</summary>
public sealed class IntegrationClientOptions
{
    /// <summary>Call metadata for every stream and unary call (e.g. <c>x-api-key</c>); asked again for each new stream.</summary>
    public Func<Metadata> Headers { get; set; } = static () => [];

    /// <summary>Requests in flight on one stream before the client opens another.</summary>
    public int MaxInFlightPerStream { get; set; } = 32;

    /// <summary>Streams the client keeps open at most; past that, requests share the least busy one.</summary>
    public int MaxStreams { get; set; } = 4;

    /// <summary>Re-send, once, a request whose stream ended before its first delta (it cannot have produced text yet).</summary>
    public bool ResendBeforeFirstDelta { get; set; } = true;
}

/// <summary>A request failed because its stream ended (server drain, network failure) after it had started answering.</summary>
public sealed class IntegrationStreamException(string message, Status status) : Exception(message)
{
    /// <summary>How the stream ended.</summary>
    public Status Status { get; } = status;
}
