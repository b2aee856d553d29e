namespace IntegrationApi.Testing;

/// <summary>What goes wrong in a scripted answer, and where (<see cref="FakeScript.FaultAfterChunks"/>).</summary>
public enum FakeFault
{
    None,
    /// <summary>Close the connection abruptly mid-stream.</summary>
    Cut,
    /// <summary>Stop sending and hold the connection open until the client aborts.</summary>
    Stall,
    /// <summary>Send the provider's in-band error event, then end the body.</summary>
    InBandError,
    /// <summary>Send a chunk that is not valid JSON.</summary>
    MalformedChunk,
    /// <summary>End the body cleanly but without the provider's terminal signal.</summary>
    MissingTerminal,
}

/// <summary>A scripted tool call: its id, function name and the argument fragments streamed one by one.</summary>
public sealed record FakeToolCall(string Id, string Name, params string[] ArgumentFragments)
{
    /// <summary>The full arguments JSON.</summary>
    public string Arguments => string.Concat(ArgumentFragments);
}

/// <summary>
/// One scripted provider answer, in provider-neutral terms; each fake renders it in its provider's
/// exact wire format. Finish reasons are neutral too (<c>stop</c>, <c>length</c>, <c>tool_calls</c>,
/// <c>content_filter</c>) and mapped to the provider's own values.
/// </summary>
public sealed record FakeScript
{
    public IReadOnlyList<string> TextChunks { get; init; } = ["Hello", "! How can I", " help?"];
    public IReadOnlyList<FakeToolCall> ToolCalls { get; init; } = [];
    /// <summary>Reasoning text streamed before the answer, where the provider has it (Anthropic thinking, Gemini thoughts, Mistral thinking chunks).</summary>
    public IReadOnlyList<string> ReasoningChunks { get; init; } = [];
    /// <summary>Anthropic: a <c>redacted_thinking</c> block's data sent before the answer.</summary>
    public string? RedactedThinking { get; init; }
    public int InputTokens { get; init; } = 9;
    public int OutputTokens { get; init; } = 7;
    public int CachedInputTokens { get; init; }
    public int ReasoningTokens { get; init; }
    public int CacheWriteTokens { get; init; }
    /// <summary>Neutral finish reason; null means <c>tool_calls</c> when there are tool calls, else <c>stop</c>.</summary>
    public string? FinishReason { get; init; }

    /// <summary>Delay before the first content chunk.</summary>
    public TimeSpan TimeToFirstToken { get; init; }
    /// <summary>Delay between content chunks.</summary>
    public TimeSpan ChunkGap { get; init; }

    /// <summary>Answer with this HTTP error status instead (with the provider's error body).</summary>
    public int? HttpStatus { get; init; }
    /// <summary>The provider's error type/code for an HTTP or in-band error (e.g. <c>rate_limit_exceeded</c>, <c>overloaded_error</c>).</summary>
    public string? ErrorType { get; init; }
    public string ErrorMessage { get; init; } = "scripted error";
    /// <summary>Value of the <c>retry-after</c> header sent with an HTTP error.</summary>
    public string? RetryAfter { get; init; }

    public FakeFault Fault { get; init; }
    /// <summary>How many content chunks go out before the fault.</summary>
    public int FaultAfterChunks { get; init; }
    /// <summary>When set, the fault waits for this task (e.g. until the test saw the deltas sent before it); with no fault, the rest of the answer does.</summary>
    public Task? FaultGate { get; init; }

    /// <summary>The neutral finish reason actually used.</summary>
    public string EffectiveFinishReason => FinishReason ?? (ToolCalls.Count > 0 ? "tool_calls" : "stop");

    /// <summary>The whole reasoning text.</summary>
    public string Reasoning => string.Concat(ReasoningChunks);

    /// <summary>The whole text of the answer.</summary>
    public string Text => string.Concat(TextChunks);

    /// <summary>An HTTP error answer.</summary>
    public static FakeScript Error(int status, string? type = null, string? retryAfter = null, string message = "scripted error") =>
        new() { HttpStatus = status, ErrorType = type, RetryAfter = retryAfter, ErrorMessage = message };

    /// <summary>Many chunks of one size, for back-pressure tests and benchmarks.</summary>
    public static FakeScript Large(int chunks, int chunkChars) =>
        new() { TextChunks = Enumerable.Range(0, chunks).Select(i => new string((char)('a' + i % 26), chunkChars)).ToArray(), OutputTokens = chunks };
}
