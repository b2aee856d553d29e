using IntegrationApi.Chat;
using IntegrationApi.Providers;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace IntegrationApi.Engine;

/// <summary>
/// Runs a non-streaming request (embeddings, reranking, moderation) with the chat engine's rules:
/// <code>
///   plan: call 0 … call n-1 ──► at most MaxConcurrentCallsPerRequest at once ──► results in plan order
///            │ each call: timer (CallTimeout) ─► provider ─► 429 / 5xx / connection failure ─► wait, try again
///            └ any call fails for good ─► every other call is aborted ─► the request fails with that call's code
/// </code>
/// 1. Each call is retried on its own (<see cref="RetryPolicy"/>): a non-streaming answer is returned whole, so a
///    retry can never repeat anything the caller already saw.
/// 2. Each try has its own timer (<see cref="EngineOptions.CallTimeout"/>); the request as a whole ends at
///    <see cref="EngineOptions.TotalTimeout"/>. A timeout is a 504.
/// 3. There are no partial answers: the first call that fails for good aborts the rest (the provider sees those
///    connections closed) and its error is the request's.
/// 4. Cancelling <c>cancellationToken</c> aborts every call in flight and throws <see cref="OperationCanceledException"/>.
/// </summary>
public sealed partial class CallEngine(IOptions<EngineOptions> options, TimeProvider time, Metrics.GatewayMetrics metrics, ILogger<CallEngine> logger)
{
    private readonly EngineOptions _options = options.Value;
    private readonly RetryPolicy _retry = new(options.Value, time);

    /// <summary>Runs every call of <paramref name="plan"/>; the outcome holds all their results or the error that ended the request.</summary>
    public async Task<CallOutcome<T>> RunAsync<T>(CallPlan<T> plan, ulong requestId, CancellationToken cancellationToken) where T : ICallResult
    {
        ArgumentOutOfRangeException.ThrowIfZero(plan.Calls.Count);
        var start = time.GetTimestamp();
        var totalDeadline = start + (long)(_options.TotalTimeout.TotalSeconds * time.TimestampFrequency);
        var results = new T[plan.Calls.Count];
        var tries = 0;
        ChatError? failure = null;
        using var abort = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        using var total = new CancellationTokenSource(_options.TotalTimeout, time);
        using var totalLink = total.Token.UnsafeRegister(static s => ((CancellationTokenSource)s!).Cancel(), abort);
        using var slots = new SemaphoreSlim(_options.MaxConcurrentCallsPerRequest);

        async Task RunOneAsync(int index)
        {
            await slots.WaitAsync(abort.Token).ConfigureAwait(false); // outside the try: a wait that was aborted holds no slot
            try
            {
                var (result, error, made) = await CallAsync(plan, index, requestId, totalDeadline, abort.Token).ConfigureAwait(false);
                Interlocked.Add(ref tries, made);
                if (error is null) { results[index] = result!; return; }
                if (Interlocked.CompareExchange(ref failure, error, null) is null) await abort.CancelAsync().ConfigureAwait(false);
            }
            finally { slots.Release(); }
        }

        var tasks = new Task[plan.Calls.Count];
        for (var i = 0; i < tasks.Length; i++) tasks[i] = RunOneAsync(i);
        try { await Task.WhenAll(tasks).ConfigureAwait(false); }
        catch (OperationCanceledException) when (failure is not null || total.IsCancellationRequested || cancellationToken.IsCancellationRequested) { }
        cancellationToken.ThrowIfCancellationRequested();
        if (failure is null && total.IsCancellationRequested) failure = ChatErrors.TimedOut("the request took too long", _options.TotalTimeout);

        var elapsed = time.GetElapsedTime(start);
        if (failure is not null) failure = failure with { Message = plan.Credential.RedactAndTruncate(failure.Message) };
        var usage = failure is null ? Sum(results) : null;
        metrics.CallCompleted(plan.Operation, plan.Provider, plan.Model, failure?.Code ?? 200, elapsed, usage, tries);
        return new CallOutcome<T>(requestId, failure is null ? results : null, failure, elapsed, tries)
        {
            Provider = plan.Provider, Model = plan.Model, Usage = usage,
        };
    }

    /// <summary>One call with its retries: its result, or the error it ended with, and how many tries it made.</summary>
    private async Task<(T? Result, ChatError? Error, int Tries)> CallAsync<T>(CallPlan<T> plan, int index, ulong requestId, long totalDeadline,
        CancellationToken abort) where T : ICallResult
    {
        for (var attempt = 1; ; attempt++)
        {
            using var timer = new CancellationTokenSource(_options.CallTimeout, time);
            using var link = abort.UnsafeRegister(static s => ((CancellationTokenSource)s!).Cancel(), timer);
            try
            {
                return (await plan.Calls[index](timer.Token).ConfigureAwait(false), null, attempt);
            }
            catch (Exception) when (abort.IsCancellationRequested)
            {
                throw new OperationCanceledException(abort);
            }
            catch (Exception) when (timer.IsCancellationRequested)
            {
                return (default, ChatErrors.TimedOut($"{plan.Operation} call to {plan.Provider}", _options.CallTimeout), attempt);
            }
            catch (Exception ex)
            {
                var failure = RetryPolicy.Classify(ex, plan.Provider, "an answer");
                if (failure is ProviderException pe && _retry.Delay(pe, attempt, totalDeadline) is { } delay)
                {
                    Log.Retrying(logger, requestId, plan.Operation, plan.Provider, attempt, (int)delay.TotalMilliseconds, pe.Kind);
                    await Task.Delay(delay, time, abort).ConfigureAwait(false);
                    continue;
                }
                if (failure is not (ProviderException or ChatRequestException)) Log.Unexpected(logger, requestId, plan.Operation, plan.Provider, ex);
                return (default, RetryPolicy.ToError(failure), attempt);
            }
        }
    }

    private static TokenUsage? Sum<T>(T[] results) where T : ICallResult
    {
        long? input = null, total = null;
        foreach (var r in results)
        {
            if (r.Usage?.Input is { } i) input = (input ?? 0) + i;
            if (r.Usage?.Total is { } t) total = (total ?? 0) + t;
        }
        return input is null && total is null ? null : new TokenUsage(Input: input, Total: total ?? input);
    }

    private static partial class Log
    {
        [LoggerMessage(130, LogLevel.Warning, "Request {RequestId}: {Operation} call to {Provider} failed (attempt {Attempt}, {Kind}); retrying in {DelayMs} ms")]
        public static partial void Retrying(ILogger logger, ulong requestId, string operation, string provider, int attempt, int delayMs, ProviderErrorKind kind);

        [LoggerMessage(131, LogLevel.Error, "Request {RequestId}: {Operation} call to {Provider} failed unexpectedly")]
        public static partial void Unexpected(ILogger logger, ulong requestId, string operation, string provider, Exception exception);
    }
}
