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

    /// <summary>
    /// Re-send, on a new stream (possibly on another instance), a request whose stream ended or drained before its first
    /// delta (it cannot have produced text yet); at most <see cref="MaxResends"/> times.
    /// </summary>
    public bool ResendBeforeFirstDelta { get; set; } = true;

    /// <summary>Most re-sends of one request (a drained stream, then a lost connection, …).</summary>
    public int MaxResends { get; set; } = 3;
}

/// <summary>
/// A request failed because its stream ended (server drain, network failure, instance gone) after it had started
/// answering (<see cref="PartialAnswer"/>: re-sending could repeat text), or after every re-send allowed.
/// </summary>
public sealed class IntegrationStreamException(string message, Status status, bool partialAnswer = false) : Exception(message)
{
    /// <summary>How the stream ended.</summary>
    public Status Status { get; } = status;

    /// <summary>True when deltas of this request had already arrived: the answer is incomplete and was not re-sent.</summary>
    public bool PartialAnswer { get; } = partialAnswer;
}
