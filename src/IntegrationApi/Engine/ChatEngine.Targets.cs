using IntegrationApi.Chat;

namespace IntegrationApi.Engine;

/// <summary>
/// A request with fallbacks and hedging (docs/contract.md §9), on top of one target's run:
/// <code>
///   sequential:  target 0 ──fails before its first token (retryable)──► target 1 ──► … ──► the last one's error
///   hedged:      target 0 ───────────────────────┐ first token wins: every other attempt is aborted at once
///                 +hedgeAfter ─► target 1 ───────┤ a retryable failure starts the next target at once
///                 +2·hedgeAfter ─► target 2 ─────┘ nothing left running and nothing left to start: the last error
/// </code>
/// One request id, one terminal, deltas from the winner only: an attempt writes text only after it has claimed the
/// request at its first token. After the first token there is no fallback (the rule retries follow too). The total
/// deadline spans every target; each target has its own first-token timer and retries.
/// </summary>
public sealed partial class ChatEngine
{
    /// <summary>Runs a request on <paramref name="targets"/> (the first is the primary), hedged after <paramref name="hedgeAfter"/> when given.</summary>
    public async Task<ChatOutcome> RunAsync(IReadOnlyList<ChatTarget> targets, TimeSpan? hedgeAfter, ulong requestId,
        Func<string, CancellationToken, ValueTask> onText, CancellationToken cancellationToken,
        Func<string, CancellationToken, ValueTask>? onReasoning = null)
    {
        ArgumentOutOfRangeException.ThrowIfZero(targets.Count);
        var start = time.GetTimestamp();
        var totalDeadline = start + ToTicks(_options.TotalTimeout);
        var attempts = new List<ChatAttempt>(targets.Count);
        TargetEnd last;
        if (hedgeAfter is { } after && after > TimeSpan.Zero && targets.Count > 1)
            last = await HedgedAsync(targets, after, requestId, onText, onReasoning, start, totalDeadline, attempts, cancellationToken).ConfigureAwait(false);
        else
        {
            var i = 0;
            while (true)
            {
                last = await RunTargetAsync(targets[i], requestId, onText, onReasoning, null, start, totalDeadline, cancellationToken).ConfigureAwait(false);
                Attempted(attempts, last.ToAttempt());
                if (last.Result is not null || !last.FallbackAllowed || ++i == targets.Count) break;
                Log.FallingBack(logger, requestId, last.Target.Provider.Name, last.Error!.Code, targets[i].Provider.Name);
            }
        }
        var outcome = new ChatOutcome(requestId, last.Result, last.Error, time.GetElapsedTime(start), last.TimeToFirstToken, attempts.Sum(a => a.Tries))
        {
            Provider = last.Target.Provider.Name,
            Model = last.Target.Request.Model,
            Targets = attempts,
        };
        metrics.RequestCompleted(outcome.Provider, outcome.Model, last.Error?.Code ?? 200, outcome.Elapsed, outcome.TimeToFirstToken, last.Result?.Usage, outcome.Attempts);
        return outcome;
    }

    private async Task<TargetEnd> HedgedAsync(IReadOnlyList<ChatTarget> targets, TimeSpan hedgeAfter, ulong requestId,
        Func<string, CancellationToken, ValueTask> onText, Func<string, CancellationToken, ValueTask>? onReasoning,
        long start, long totalDeadline, List<ChatAttempt> attempts, CancellationToken cancellationToken)
    {
        var winner = -1;
        var claimed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var running = new Dictionary<Task<TargetEnd>, (int Index, CancellationTokenSource Cancel)>();
        var started = new long[targets.Count]; // when each target started, for the elapsed time of an aborted one
        var next = 0;
        TargetEnd? lastFailure = null;
        var mayStartMore = true;

        void StartNext()
        {
            var index = next++;
            started[index] = time.GetTimestamp();
            var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            bool Claim()
            {
                if (Interlocked.CompareExchange(ref winner, index, -1) != -1) return false;
                claimed.TrySetResult(); // the loop aborts every other attempt
                return true;
            }
            ValueTask Write(string text, CancellationToken ct) => Volatile.Read(ref winner) == index ? onText(text, ct) : ValueTask.CompletedTask;
            ValueTask WriteReasoning(string text, CancellationToken ct) => Volatile.Read(ref winner) == index ? onReasoning!(text, ct) : ValueTask.CompletedTask;
            running[RunTargetAsync(targets[index], requestId, Write, onReasoning is null ? null : WriteReasoning, Claim, start, totalDeadline, cts.Token)] = (index, cts);
        }

        void CancelAllBut(int keep)
        {
            foreach (var (index, cts) in running.Values) if (index != keep) cts.Cancel();
        }

        try
        {
            StartNext();
            var lostCancelled = false;
            while (running.Count > 0)
            {
                // The next hedge is due hedgeAfter × (targets started so far) after the request began.
                using var hedgeTimer = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                var hedgeDue = Volatile.Read(ref winner) < 0 && mayStartMore && next < targets.Count;
                var hedgeAt = start + ToTicks(hedgeAfter * next);
                var hedge = hedgeDue ? Task.Delay(Until(hedgeAt), time, hedgeTimer.Token) : Task.Delay(Timeout.Infinite, hedgeTimer.Token);
                if (hedgeDue && time.GetTimestamp() >= hedgeAt)
                {
                    // Already due (the clock passed it while the last target was being started): a timer made now would
                    // wait from now, so start the next target at once.
                    hedgeTimer.Cancel();
                    Log.Hedging(logger, requestId, targets[next].Provider.Name, next);
                    StartNext();
                    continue;
                }
                var waitFor = running.Keys.Append(hedge);
                if (!lostCancelled) waitFor = waitFor.Append(claimed.Task);
                var done = await Task.WhenAny(waitFor).ConfigureAwait(false);
                hedgeTimer.Cancel();
                cancellationToken.ThrowIfCancellationRequested();
                if (done == claimed.Task)
                {
                    lostCancelled = true;
                    CancelAllBut(Volatile.Read(ref winner));
                    continue;
                }
                if (done == hedge)
                {
                    if (hedgeDue) { Log.Hedging(logger, requestId, targets[next].Provider.Name, next); StartNext(); }
                    continue;
                }
                var task = (Task<TargetEnd>)done;
                var (index, cts) = running[task];
                running.Remove(task);
                cts.Dispose();
                TargetEnd end;
                try { end = await task.ConfigureAwait(false); }
                catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
                {
                    // Aborted because another attempt won.
                    Attempted(attempts, new ChatAttempt(targets[index].Provider.Name, targets[index].Request.Model, AttemptResult.Cancelled,
                        ChatErrors.Cancelled, time.GetElapsedTime(started[index]), null, 1));
                    continue;
                }
                Attempted(attempts, end.ToAttempt());
                var won = Volatile.Read(ref winner) == index
                    // A success with no token at all (an empty answer) wins when it ends, if nothing won before.
                    || (end.Result is not null && Interlocked.CompareExchange(ref winner, index, -1) == -1);
                if (won)
                {
                    CancelAllBut(index);
                    await DrainAsync(running, attempts, targets, started, cancellationToken).ConfigureAwait(false);
                    return end; // its answer, or its error after its first token (no fallback then)
                }
                if (end.Result is not null) continue; // an empty answer that came after another attempt won
                lastFailure = end;
                if (!end.FallbackAllowed) mayStartMore = false;
                else if (winner < 0 && next < targets.Count)
                {
                    Log.FallingBack(logger, requestId, end.Target.Provider.Name, end.Error!.Code, targets[next].Provider.Name);
                    StartNext();
                }
            }
            return lastFailure!;
        }
        finally
        {
            // Only when the request itself ends early (cancelled): abort what still runs; each source is disposed once its
            // attempt has seen the cancellation, never under it.
            foreach (var (task, (_, cts)) in running)
            {
                cts.Cancel();
                _ = task.ContinueWith(static (_, s) => ((CancellationTokenSource)s!).Dispose(), cts, CancellationToken.None,
                    TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            }
        }
    }

    /// <summary>Waits for the aborted attempts, so their upstream calls are gone before the terminal goes out, and records them.</summary>
    private async Task DrainAsync(Dictionary<Task<TargetEnd>, (int Index, CancellationTokenSource Cancel)> running, List<ChatAttempt> attempts,
        IReadOnlyList<ChatTarget> targets, long[] started, CancellationToken cancellationToken)
    {
        foreach (var (task, (index, cts)) in running.ToArray())
        {
            try { Attempted(attempts, (await task.ConfigureAwait(false)).ToAttempt()); }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                Attempted(attempts, new ChatAttempt(targets[index].Provider.Name, targets[index].Request.Model, AttemptResult.Cancelled,
                    ChatErrors.Cancelled, time.GetElapsedTime(started[index]), null, 1));
            }
            running.Remove(task);
            cts.Dispose();
        }
    }

    private void Attempted(List<ChatAttempt> attempts, ChatAttempt attempt)
    {
        attempts.Add(attempt);
        metrics.AttemptEnded(attempt.Provider, attempt.Result);
    }
}
