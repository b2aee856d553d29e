namespace IntegrationApi.Audit;

/// <summary>
/// Where a batch of audit records goes: the store, or, when it refuses them, the local spool; and spooled records back
/// to the store once it takes writes again. Retries back off, doubling up to <see cref="AuditOptions.MaxRetryDelay"/>.
/// Used by one thread at a time: the audit writer's (and its start, before that thread runs).
/// </summary>
internal sealed partial class AuditDelivery(IAuditStore store, AuditSpool spool, AuditOptions options, Metrics.GatewayMetrics metrics,
    TimeProvider time, ILogger logger)
{
    private static readonly TimeSpan FirstRetryDelay = TimeSpan.FromMilliseconds(100);

    /// <summary>Tries of one batch at shutdown (back to back: a stale pooled connection fails once), then it is spooled.</summary>
    private const int ShutdownAttempts = 3;

    private bool _storeDown;          // the last write failed: batches go straight to the spool until the next retry
    private long _lastFailure;        // timestamp of the last failure of the store or the spool; 0 when all is well
    private TimeSpan _retryDelay = FirstRetryDelay;

    /// <summary>How long until spooled records are due for the store again (zero: now); null when none wait.</summary>
    public TimeSpan? SpoolDueIn => spool.Pending == 0 ? null
        : RetryDue ? TimeSpan.Zero : _retryDelay - time.GetElapsedTime(_lastFailure);

    private bool RetryDue => _lastFailure == 0 || time.GetElapsedTime(_lastFailure) >= _retryDelay;

    /// <summary>At start: what an earlier run left in the spool goes to the (just migrated) store.</summary>
    public void DeliverLeftovers()
    {
        try
        {
            if (spool.Count() is > 0 and var pending)
            {
                Log.SpoolFound(logger, pending, spool.Path);
                DeliverSpool(static () => false);
            }
        }
        catch (Exception ex) // an unreadable spool must not keep the service down: its records stay there
        {
            Log.SpoolFailed(logger, spool.Path, ex);
            Failed();
        }
    }

    /// <summary>Stores <paramref name="batch"/>, or spools it; after a successful write, delivers spooled records that are due.</summary>
    public void Write(List<AuditRecord> batch, CancellationToken stoppingToken, Func<bool> newRecordsWaiting)
    {
        if (!TryStore(batch, stoppingToken)) Spool(batch);
        else if (spool.Pending > 0 && RetryDue) DeliverSpool(newRecordsWaiting);
    }

    /// <summary>
    /// Hands spooled records to the store a batch at a time, each removed from the spool only after the store committed
    /// it (a crash in between delivers it again, which the store ignores). Stops at a failure, or when
    /// <paramref name="yieldWhen"/> says new records should go first (the writer comes back after them).
    /// </summary>
    public void DeliverSpool(Func<bool> yieldWhen)
    {
        var delivered = 0;
        try
        {
            while (spool.Pending > 0 && !yieldWhen())
            {
                var records = spool.Read(options.BatchSize);
                if (records.Count == 0) break;
                try
                {
                    store.WriteAsync(records, CancellationToken.None).GetAwaiter().GetResult();
                }
                catch (Exception ex)
                {
                    Log.RedeliveryFailed(logger, spool.Pending, ex);
                    StoreFailed();
                    return;
                }
                metrics.AuditWritten(records.Count);
                delivered += records.Count;
                if (_storeDown) Log.Recovered(logger, 1);
                _storeDown = false;
                spool.Remove(records);
                metrics.AuditRedelivered(records.Count);
            }
            if (spool.Pending == 0) ResetBackoff();
        }
        catch (Exception ex) // the spool itself failed: its records stay there, tried again after a delay
        {
            Log.SpoolFailed(logger, spool.Path, ex);
            Failed();
        }
        finally
        {
            if (delivered > 0) Log.Redelivered(logger, delivered, spool.Pending);
        }
    }

    /// <summary>
    /// Writes one batch to the store, retrying with backoff for up to <see cref="AuditOptions.SpoolAfter"/> (at shutdown,
    /// <see cref="ShutdownAttempts"/> tries); while the store is known down, one try once its retry is due. False: the
    /// batch goes to the spool.
    /// </summary>
    private bool TryStore(List<AuditRecord> batch, CancellationToken stoppingToken)
    {
        if (_storeDown && !RetryDue) return false;
        var started = time.GetTimestamp();
        var delay = FirstRetryDelay;
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                store.WriteAsync(batch, CancellationToken.None).GetAwaiter().GetResult();
                metrics.AuditWritten(batch.Count);
                if (attempt > 1 || _storeDown) Log.Recovered(logger, attempt);
                _storeDown = false;
                if (spool.Pending == 0) ResetBackoff();
                return true;
            }
            catch (Exception ex)
            {
                Log.WriteFailed(logger, batch.Count, attempt, ex);
                var giveUp = _storeDown || (stoppingToken.IsCancellationRequested
                    ? attempt >= ShutdownAttempts
                    : time.GetElapsedTime(started) + delay > options.SpoolAfter);
                if (giveUp)
                {
                    StoreFailed();
                    return false;
                }
                stoppingToken.WaitHandle.WaitOne(delay); // shutdown cuts the wait short
                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, options.MaxRetryDelay.Ticks));
            }
        }
    }

    private void Spool(List<AuditRecord> batch)
    {
        try
        {
            spool.Append(batch);
            metrics.AuditSpooled(batch.Count);
            Log.Spooled(logger, batch.Count, spool.Pending);
        }
        catch (Exception ex)
        {
            Log.Lost(logger, batch.Count, spool.Path, ex);
            metrics.AuditDropped(batch.Count);
        }
    }

    private void StoreFailed()
    {
        if (!_storeDown) Log.StoreUnavailable(logger, spool.Path);
        _storeDown = true;
        Failed();
    }

    private void Failed()
    {
        if (_lastFailure != 0) _retryDelay = TimeSpan.FromTicks(Math.Min(_retryDelay.Ticks * 2, options.MaxRetryDelay.Ticks));
        _lastFailure = time.GetTimestamp();
    }

    /// <summary>Store up and spool empty: the next failure starts the backoff afresh.</summary>
    private void ResetBackoff() => (_lastFailure, _retryDelay) = (0, FirstRetryDelay);

    private static partial class Log
    {
        [LoggerMessage(31, LogLevel.Warning, "Writing {Count} audit records failed (attempt {Attempt})")]
        public static partial void WriteFailed(ILogger logger, int count, int attempt, Exception exception);

        [LoggerMessage(32, LogLevel.Information, "Audit store writable again after {Attempts} attempts")]
        public static partial void Recovered(ILogger logger, int attempts);

        [LoggerMessage(33, LogLevel.Error, "{Count} audit records lost: the store refused them and the spool {Path} failed")]
        public static partial void Lost(ILogger logger, int count, string path, Exception exception);

        [LoggerMessage(34, LogLevel.Warning, "Audit store unavailable: records go to the spool {Path} until it takes writes again")]
        public static partial void StoreUnavailable(ILogger logger, string path);

        [LoggerMessage(35, LogLevel.Debug, "{Count} audit records spooled ({Pending} waiting)")]
        public static partial void Spooled(ILogger logger, int count, long pending);

        [LoggerMessage(36, LogLevel.Information, "{Count} spooled audit records delivered to the store ({Pending} still waiting)")]
        public static partial void Redelivered(ILogger logger, int count, long pending);

        [LoggerMessage(37, LogLevel.Warning, "Delivering spooled audit records failed ({Pending} waiting); tried again later")]
        public static partial void RedeliveryFailed(ILogger logger, long pending, Exception exception);

        [LoggerMessage(38, LogLevel.Warning, "The audit spool {Path} failed; its records stay there and are tried again later")]
        public static partial void SpoolFailed(ILogger logger, string path, Exception exception);

        [LoggerMessage(39, LogLevel.Information, "{Count} audit records waiting in the spool {Path} from an earlier run")]
        public static partial void SpoolFound(ILogger logger, long count, string path);
    }
}
