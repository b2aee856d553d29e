using IntegrationApi.Chat;
using IntegrationApi.Providers;

namespace IntegrationApi.Engine;

/// <summary>Where a request can run: a provider, and the request as that provider gets it (its model, parameters, credential).</summary>
public sealed record ChatTarget(IChatProvider Provider, ChatRequest Request);

/// <summary>How one target's run ended.</summary>
public enum AttemptResult
{
    /// <summary>It answered: its answer is the request's.</summary>
    Succeeded,
    /// <summary>It failed; the next target may have run.</summary>
    Failed,
    /// <summary>Another target produced the first token first (a hedge), or the request ended: it was aborted.</summary>
    Cancelled,
}

/// <summary>One target's run within a request, for the audit record and the metrics.</summary>
/// <param name="Code">The contract code it ended with (200, its error's, or 499 when cancelled).</param>
/// <param name="TimeToFirstToken">From the start of the request, when this target produced its first token.</param>
/// <param name="Elapsed">From this target's start to its end.</param>
/// <param name="Tries">Upstream calls it made (1 plus its retries; an aborted hedge counts 1).</param>
public sealed record ChatAttempt(string Provider, string Model, AttemptResult Result, int Code, TimeSpan Elapsed, TimeSpan? TimeToFirstToken, int Tries);

/// <summary>What <c>ChatEngine</c> learned from one target.</summary>
internal sealed record TargetEnd(ChatTarget Target, ChatResult? Result, ChatError? Error, TimeSpan Elapsed, TimeSpan? TimeToFirstToken, int Tries, bool FallbackAllowed)
{
    public ChatAttempt ToAttempt() => new(Target.Provider.Name, Target.Request.Model, Result is not null ? AttemptResult.Succeeded : AttemptResult.Failed,
        Error?.Code ?? 200, Elapsed, TimeToFirstToken, Tries);
}

/// <summary>Thrown inside a hedged attempt that reached its first token after another attempt had won.</summary>
internal sealed class HedgeLostException() : OperationCanceledException("another target produced the first token first");
