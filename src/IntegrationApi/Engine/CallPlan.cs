using IntegrationApi.Chat;

namespace IntegrationApi.Engine;

/// <summary>What one provider call answered, as far as the engine needs it: the tokens it used.</summary>
public interface ICallResult
{
    /// <summary>The provider's own usage report, when it sent one.</summary>
    TokenUsage? Usage { get; }
}

/// <summary>
/// A non-streaming request (embeddings, reranking, moderation) as the engine runs it: one or more independent
/// provider calls (a batch split at the provider's limit), each one retried on its own.
/// </summary>
/// <param name="Operation">What the calls do, for metrics and logs (<c>embeddings</c>, <c>rerank</c>, <c>moderation</c>).</param>
/// <param name="Calls">The provider calls; their results come back in this order.</param>
public sealed record CallPlan<T>(string Operation, string Provider, string Model, ProviderCredential Credential,
    IReadOnlyList<Func<CancellationToken, Task<T>>> Calls) where T : ICallResult;

/// <summary>How a non-streaming request ended: every call's result in plan order, or the error that failed it.</summary>
public sealed record CallOutcome<T>(ulong RequestId, IReadOnlyList<T>? Results, ChatError? Error, TimeSpan Elapsed, int Tries) where T : ICallResult
{
    /// <summary>True when every call answered.</summary>
    public bool Succeeded => Results is not null;

    public string Provider { get; init; } = "";

    public string Model { get; init; } = "";

    /// <summary>The calls' usage added up; null when no call reported any.</summary>
    public TokenUsage? Usage { get; init; }
}
