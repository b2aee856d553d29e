using IntegrationApi.Chat;
using IntegrationApi.Providers;
using IntegrationApi.Telemetry;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace IntegrationApi.Engine;

/// <summary>
/// Runs one request against one target (a provider and the request as that provider gets it), for a stream or a
/// unary call alike; <c>ChatEngine.Targets.cs</c> runs a request with fallbacks and hedging on top of this:
/// <code>
///   attempt ─► provider stream ─► updates ─► text deltas to the sink ─► fold into ChatResult
///      ▲            │ 429 / 5xx / connection failure, nothing received yet
///      └── wait (Retry-After or backoff) ◄┘
/// </code>
/// 1. One timer per attempt: time-to-first-token until the first text or tool call, then the idle gap;
///    never past the total deadline. A timeout ends the request with 504. The idle deadline moves with every
///    chunk, but the timer is re-armed only when it would move by more than 1/16 of the idle timeout (not a
///    timer-queue operation per token), so an idle timeout fires between 15/16 of its value and its value after
///    the last chunk.
/// 2. A slow sink (full response buffer) pauses the idle timer, not the total: back-pressure is not idleness.
/// 3. A transient failure is retried only while nothing was received, so text is never repeated.
/// 4. Cancelling <c>cancellationToken</c> aborts the upstream call and throws <see cref="OperationCanceledException"/>;
///    the caller knows why it cancelled and writes the terminal response.
/// </summary>
public sealed partial class ChatEngine(IOptions<EngineOptions> options, TimeProvider time, Metrics.GatewayMetrics metrics, ILogger<ChatEngine> logger)
{
    private readonly EngineOptions _options = options.Value;
    private readonly RetryPolicy _retry = new(options.Value, time);

    /// <summary>
    /// Runs <paramref name="request"/> on <paramref name="provider"/> alone; each text delta goes to <paramref name="onText"/> as it
    /// arrives, and reasoning text to <paramref name="onReasoning"/> when the request asked for it (<c>model.include_reasoning</c>).
    /// </summary>
    public Task<ChatOutcome> RunAsync(
        IChatProvider provider, ChatRequest request, ulong requestId,
        Func<string, CancellationToken, ValueTask> onText, CancellationToken cancellationToken,
        Func<string, CancellationToken, ValueTask>? onReasoning = null) =>
        RunAsync([new ChatTarget(provider, request)], null, requestId, onText, cancellationToken, onReasoning);

    /// <summary>
    /// One target, with its own retries: what it answered, or how it failed and whether the next target may run
    /// (a retryable failure before any text or tool call). <paramref name="claimFirstToken"/>, when given, is asked at
    /// the first token whether this attempt may go on (a hedge another attempt already won says no).
    /// </summary>
    private async Task<TargetEnd> RunTargetAsync(ChatTarget target, ulong requestId, Func<string, CancellationToken, ValueTask> onText,
        Func<string, CancellationToken, ValueTask>? onReasoning,
        Func<bool>? claimFirstToken, long requestStart, long totalDeadline, CancellationToken cancellationToken)
    {
        var (provider, request) = target;
        if (!request.Options.IncludeReasoning) onReasoning = null;
        var start = time.GetTimestamp();
        TimeSpan? timeToFirstToken = null;
        var idleTicks = ToTicks(_options.IdleTimeout);
        var idleSlack = idleTicks / 16;
        for (var attempt = 1; ; attempt++)
        {
            var builder = new ChatResultBuilder();
            var firstTokenDeadline = time.GetTimestamp() + ToTicks(_options.TimeToFirstTokenTimeout);
            var waitingForFirstToken = true;
            // The timer runs on the injected clock (tests drive timeouts with a fake one); the caller's token cancels it too.
            var armed = Math.Min(firstTokenDeadline, totalDeadline);
            using var timer = new CancellationTokenSource(Until(armed), time);
            using var link = cancellationToken.UnsafeRegister(static s => ((CancellationTokenSource)s!).Cancel(), timer);
            var armedForTotal = totalDeadline <= firstTokenDeadline; // which limit a firing timer means
            // Current while the provider runs, so its HttpClient span nests under it; ended before a retry's wait.
            using var span = GatewayTracing.StartAttempt(target, attempt);
            try
            {
                await using var updates = provider.GetStreamingResponseAsync(request, timer.Token).GetAsyncEnumerator(timer.Token);
                while (await updates.MoveNextAsync().ConfigureAwait(false))
                {
                    var update = updates.Current;
                    builder.Add(update);
                    // Reasoning text is the model's output too: once it may have reached the caller, nothing may be retried.
                    if (waitingForFirstToken && (update.Kind is ChatUpdateKind.Text or ChatUpdateKind.ToolCall
                        || (update.Kind == ChatUpdateKind.Reasoning && !string.IsNullOrEmpty(update.Text))))
                    {
                        waitingForFirstToken = false;
                        timeToFirstToken = time.GetElapsedTime(requestStart);
                        if (claimFirstToken is not null && !claimFirstToken()) throw new HedgeLostException();
                    }
                    if (update.Kind == ChatUpdateKind.Text || (update.Kind == ChatUpdateKind.Reasoning && onReasoning is not null && !string.IsNullOrEmpty(update.Text)))
                    {
                        var written = update.Kind == ChatUpdateKind.Text ? onText(update.Text!, timer.Token) : onReasoning!(update.Text!, timer.Token);
                        if (!written.IsCompletedSuccessfully)
                        {
                            armedForTotal = Arm(timer, totalDeadline, totalDeadline);
                            armed = totalDeadline;
                            await written.ConfigureAwait(false);
                        }
                    }
                    var wanted = Math.Min(waitingForFirstToken ? firstTokenDeadline : time.GetTimestamp() + idleTicks, totalDeadline);
                    if (wanted < armed || wanted - armed > idleSlack)
                    {
                        armedForTotal = Arm(timer, wanted, totalDeadline);
                        armed = wanted;
                    }
                }
                var result = builder.Build();
                GatewayTracing.AttemptSucceeded(span, target, result);
                return End(target, result, null, start, timeToFirstToken, attempt, fallbackAllowed: false);
            }
            catch (Exception) when (cancellationToken.IsCancellationRequested)
            {
                GatewayTracing.AttemptCancelled(span);
                throw new OperationCanceledException(cancellationToken);
            }
            catch (HedgeLostException)
            {
                GatewayTracing.AttemptCancelled(span);
                throw;
            }
            catch (Exception) when (timer.IsCancellationRequested)
            {
                var error = armedForTotal
                    ? ChatErrors.TimedOut("the request took too long", _options.TotalTimeout)
                    : waitingForFirstToken
                        ? ChatErrors.TimedOut("no first token", _options.TimeToFirstTokenTimeout)
                        : ChatErrors.TimedOut("no chunk from the provider", _options.IdleTimeout);
                GatewayTracing.AttemptFailed(span, error.Code, retried: false);
                // A target that gave no first token in time is as good as down: the next one may run (not past the total).
                return End(target, null, error, start, timeToFirstToken, attempt, fallbackAllowed: waitingForFirstToken && !armedForTotal);
            }
            catch (Exception ex)
            {
                var failure = Classify(ex, provider.Name);
                // Nothing of the answer (text, tool call or reasoning text) may have reached the caller: else no retry, no fallback.
                if (failure is ProviderException pe && waitingForFirstToken && RetryDelay(pe, attempt, totalDeadline) is { } delay)
                {
                    Log.Retrying(logger, requestId, provider.Name, attempt, (int)delay.TotalMilliseconds, pe.Kind);
                    if (span is not null) GatewayTracing.AttemptFailed(span, ChatErrors.From(pe).Code, retried: true);
                    await Task.Delay(delay, time, cancellationToken).ConfigureAwait(false);
                    continue;
                }
                var error = RetryPolicy.ToError(failure);
                if (failure is not (ProviderException or ChatRequestException)) Log.Unexpected(logger, requestId, provider.Name, ex);
                var fallbackAllowed = failure is ProviderException { IsTransient: true } && waitingForFirstToken;
                GatewayTracing.AttemptFailed(span, error.Code, retried: false);
                return End(target, null, error, start, timeToFirstToken, attempt, fallbackAllowed);
            }
        }
    }

    private TargetEnd End(ChatTarget target, ChatResult? result, ChatError? error, long start, TimeSpan? timeToFirstToken, int tries, bool fallbackAllowed)
    {
        // Each target's credential is redacted from its own errors before anything shortens them.
        if (error is not null) error = error with { Message = target.Request.Credential.RedactAndTruncate(error.Message) };
        return new TargetEnd(target, result, error, time.GetElapsedTime(start), timeToFirstToken, tries, fallbackAllowed);
    }

    private static Exception Classify(Exception ex, string provider) => RetryPolicy.Classify(ex, provider, "a chunk");

    private TimeSpan? RetryDelay(ProviderException ex, int attempt, long totalDeadline) => _retry.Delay(ex, attempt, totalDeadline);

    /// <summary>Arms the timer for the nearer deadline; true when that is the total one.</summary>
    private bool Arm(CancellationTokenSource timer, long phaseDeadline, long totalDeadline)
    {
        timer.CancelAfter(Until(Math.Min(phaseDeadline, totalDeadline))); // re-arms the timer the source made on `time`
        return totalDeadline <= phaseDeadline;
    }

    /// <summary>From now to <paramref name="deadline"/> (a timestamp), at least 1 ms: a zero delay would cancel at once, synchronously.</summary>
    private TimeSpan Until(long deadline)
    {
        var ms = Math.Clamp(Math.Ceiling((deadline - time.GetTimestamp()) * 1000.0 / time.TimestampFrequency), 1, int.MaxValue - 1);
        return TimeSpan.FromMilliseconds(ms);
    }

    private long ToTicks(TimeSpan span) => (long)(span.TotalSeconds * time.TimestampFrequency);

    private static partial class Log
    {
        [LoggerMessage(2, LogLevel.Warning, "Request {RequestId} to {Provider} failed before its first token (attempt {Attempt}, {Kind}); retrying in {DelayMs} ms")]
        public static partial void Retrying(ILogger logger, ulong requestId, string provider, int attempt, int delayMs, ProviderErrorKind kind);

        [LoggerMessage(3, LogLevel.Error, "Request {RequestId} to {Provider} failed unexpectedly")]
        public static partial void Unexpected(ILogger logger, ulong requestId, string provider, Exception exception);

        [LoggerMessage(4, LogLevel.Warning, "Request {RequestId}: {Provider} failed before its first token ({Code}); falling back to {Next}")]
        public static partial void FallingBack(ILogger logger, ulong requestId, string provider, int code, string next);

        [LoggerMessage(5, LogLevel.Information, "Request {RequestId}: no first token yet; hedging with target {Index} ({Provider})")]
        public static partial void Hedging(ILogger logger, ulong requestId, string provider, int index);
    }
}
