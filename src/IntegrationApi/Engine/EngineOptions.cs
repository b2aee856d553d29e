using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace IntegrationApi.Engine;

/// <summary>Limits and timeouts of the chat engine (<c>Engine</c> section); the ranges are checked at start.</summary>
public sealed class EngineOptions
{
    /// <summary>Requests with a <c>clientRequestId</c> that run at once on one stream.</summary>
    [Range(1, 10_000)] public int MaxConcurrentRequestsPerStream { get; set; } = 32;

    /// <summary>Requests that may wait for a slot on one stream; past this a request gets a 429.</summary>
    [Range(0, 100_000)] public int MaxQueuedRequestsPerStream { get; set; } = 128;

    /// <summary>Responses buffered per stream between the requests and the single writer; a full buffer slows the upstream reads.</summary>
    [Range(1, 100_000)] public int ResponseBufferPerStream { get; set; } = 64;

    /// <summary>Longest wait for the first token of a request (504 after).</summary>
    [Range(typeof(TimeSpan), "00:00:00.001", "1.00:00:00")] public TimeSpan TimeToFirstTokenTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>Longest gap between two chunks of a streaming answer (504 after).</summary>
    [Range(typeof(TimeSpan), "00:00:00.001", "1.00:00:00")] public TimeSpan IdleTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Longest a request may take in all, retries included (504 after).</summary>
    [Range(typeof(TimeSpan), "00:00:00.001", "1.00:00:00")] public TimeSpan TotalTimeout { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>Retries of a request that failed before its first token (429, 5xx, connection failure).</summary>
    [Range(0, 10)] public int MaxRetries { get; set; } = 2;

    /// <summary>First retry delay when the provider sent no <c>Retry-After</c>; doubles each retry.</summary>
    [Range(typeof(TimeSpan), "00:00:00.001", "01:00:00")] public TimeSpan RetryBaseDelay { get; set; } = TimeSpan.FromMilliseconds(250);

    /// <summary>A <c>Retry-After</c> longer than this is not waited for; the request fails with the provider's code.</summary>
    [Range(typeof(TimeSpan), "00:00:00.001", "01:00:00")] public TimeSpan MaxRetryDelay { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// A stream older than this (give or take <see cref="MaxStreamAgeJitter"/>) drains and ends with OK and the trailer
    /// <c>integration-api-stream-end: max-age</c>, so the client reopens, possibly on another instance; an empty value disables it.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00.001", "7.00:00:00")] public TimeSpan? MaxStreamAge { get; set; } = TimeSpan.FromMinutes(30);

    /// <summary>Each stream's maximum age is drawn uniformly within ± this fraction of <see cref="MaxStreamAge"/>, so streams opened together do not all reopen together.</summary>
    [Range(0.0, 0.5)] public double MaxStreamAgeJitter { get; set; } = 0.1;

    /// <summary>How long a draining stream lets its requests finish before cancelling them with a 503.</summary>
    [Range(typeof(TimeSpan), "00:00:00.001", "01:00:00")] public TimeSpan DrainTimeout { get; set; } = TimeSpan.FromSeconds(20);

    /// <summary>
    /// After a draining stream's last terminal, how long the server keeps reading (refusing new requests with 503) for the
    /// client to half-close before it ends the call: a proxy (HAProxy) drops responses it still buffers when a call ends
    /// while its client is still sending. 0 ends the call at once.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:01:00")] public TimeSpan DrainLinger { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Chat requests per second one stream may start (token bucket); past it a request gets a 429. 0 = no limit.</summary>
    [Range(0, 1_000_000)] public int RequestsPerSecondPerStream { get; set; } = 1000;

    /// <summary>How many requests a stream may start at once before the per-second rate applies.</summary>
    [Range(1, 1_000_000)] public int RequestBurstPerStream { get; set; } = 2000;

    /// <summary>Requests one principal (organization + project) may have running at once over all its streams; past it a 429. 0 = no limit.</summary>
    [Range(0, 1_000_000)] public int MaxConcurrentRequestsPerPrincipal { get; set; } = 1024;

    /// <summary>Longest one non-streaming provider call (an embedding batch, a rerank, a moderation) may take per try (504 after).</summary>
    [Range(typeof(TimeSpan), "00:00:00.001", "1.00:00:00")] public TimeSpan CallTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>Provider calls one request split into batches may have running at once (Embedding beyond a provider's batch limit).</summary>
    [Range(1, 64)] public int MaxConcurrentCallsPerRequest { get; set; } = 4;

    /// <summary>Chat requests one principal may start per second over all its streams and unary calls (one-second windows); past it a 429. 0 = no limit.</summary>
    [Range(0, 1_000_000)] public int RequestsPerSecondPerPrincipal { get; set; }

    /// <summary>Machine id (0–1023) folded into request ids so that several instances never collide.</summary>
    [Range(0, 1023)] public int MachineId { get; set; }
}

/// <summary>Checks <see cref="EngineOptions"/> at start (generated from its attributes).</summary>
[OptionsValidator]
internal sealed partial class EngineOptionsValidator : IValidateOptions<EngineOptions>;
