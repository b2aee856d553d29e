using IntegrationApi.Chat;

namespace IntegrationApi.Engine;

/// <summary>How one request ended: a result or an error, with its timings.</summary>
public sealed record ChatOutcome(ulong RequestId, ChatResult? Result, ChatError? Error, TimeSpan Elapsed, TimeSpan? TimeToFirstToken, int Attempts)
{
    /// <summary>True when the request produced a complete answer.</summary>
    public bool Succeeded => Result is not null;

    /// <summary>The provider that served the request (or, when every target failed, the last one that ran).</summary>
    public string Provider { get; init; } = "";

    /// <summary>The model that served the request (or the last one that ran).</summary>
    public string Model { get; init; } = "";

    /// <summary>Every target that ran, in the order they ended (in a hedge, the losers aborted after the winner come last).</summary>
    public IReadOnlyList<ChatAttempt> Targets { get; init; } = [];

    /// <summary>What the answer cost in US dollars (set by the Api layer from the price table); null when not priced.</summary>
    public decimal? CostUsd { get; init; }
}

/// <summary>A failed request: contract code (docs/contract.md §4), engineer message, end-user message, and finish reason.</summary>
public sealed record ChatError(int Code, string Message, string HumanMessage)
{
    /// <summary><c>cancelled</c> for 499, <c>error</c> otherwise.</summary>
    public ChatFinishReason FinishReason => Code == ChatErrors.Cancelled ? ChatFinishReason.Cancelled : ChatFinishReason.Error;
}
