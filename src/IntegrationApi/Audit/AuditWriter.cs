using System.Threading.Channels;
using Microsoft.Extensions.Options;

namespace IntegrationApi.Audit;

/// <summary>
/// Writes audit records off the hot path: requests enqueue into a bounded buffer; one loop writes them in
/// batches, retrying with backoff while the store fails (the service keeps serving). Shutdown drains the
/// buffer. A record that does not fit the buffer is dropped, counted in a metric and logged, never silently.
/// </summary>
public sealed partial class AuditWriter : BackgroundService
{
    private readonly IAuditStore _store;
    private readonly AuditOptions _options;
    private readonly Metrics.GatewayMetrics _metrics;
    private readonly ILogger<AuditWriter> _logger;
    private readonly Channel<AuditRecord> _buffer;

    public AuditWriter(IAuditStore store, IOptions<AuditOptions> options, Metrics.GatewayMetrics metrics, ILogger<AuditWriter> logger)
    {
        (_store, _options, _metrics, _logger) = (store, options.Value, metrics, logger);
        _buffer = Channel.CreateBounded<AuditRecord>(new BoundedChannelOptions(_options.BufferCapacity)
        {
            SingleReader = true,
            FullMode = BoundedChannelFullMode.Wait, // TryWrite fails when full: the caller counts the drop
        });
    }

    /// <summary>Queues one record; never blocks the request.</summary>
    public void Enqueue(AuditRecord record)
    {
        if (!_options.Enabled) return;
        if (_buffer.Writer.TryWrite(record)) return;
        _metrics.AuditDropped(1);
        Log.Dropped(_logger, record.RequestId, _options.BufferCapacity);
    }

    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        if (_options.Enabled) await _store.MigrateAsync(cancellationToken).ConfigureAwait(false);
        await base.StartAsync(cancellationToken).ConfigureAwait(false);
    }

    public override Task StopAsync(CancellationToken cancellationToken)
    {
        _buffer.Writer.TryComplete(); // what is queued is still written
        return base.StopAsync(cancellationToken);
    }

    /// <summary>
    /// The write loop runs on a low-priority thread of its own, not the thread pool: a store call blocks (SQLite's
    /// async API is synchronous and a commit waits for fsync), and on a one-core machine a pool thread stuck there
    /// stalls every request queued behind it.
    /// </summary>
    protected override Task ExecuteAsync(CancellationToken stoppingToken) => BackgroundThread.Run("Audit writer", () => WriteLoop(stoppingToken));

    private void WriteLoop(CancellationToken stoppingToken)
    {
        var batch = new List<AuditRecord>(_options.BatchSize);
        var reader = _buffer.Reader;
        while (Wait(reader.WaitToReadAsync(CancellationToken.None)))
        {
            // Let a batch gather; shutdown (the token) cuts the wait short.
            if (_options.FlushInterval > TimeSpan.Zero && reader.Count < _options.BatchSize && !stoppingToken.IsCancellationRequested)
                stoppingToken.WaitHandle.WaitOne(_options.FlushInterval);
            while (batch.Count < _options.BatchSize && reader.TryRead(out var record)) batch.Add(record);
            if (!WriteWithRetry(batch, stoppingToken))
            {
                _metrics.AuditDropped(batch.Count);
                Log.LostAtShutdown(_logger, batch.Count);
            }
            batch.Clear();
        }
    }

    private static bool Wait(ValueTask<bool> pending) => pending.IsCompletedSuccessfully ? pending.Result : pending.AsTask().GetAwaiter().GetResult();

    /// <summary>Writes one batch, retrying with backoff; gives up only when the host stops waiting.</summary>
    private bool WriteWithRetry(List<AuditRecord> batch, CancellationToken stoppingToken)
    {
        var delay = TimeSpan.FromMilliseconds(100);
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                _store.WriteAsync(batch, CancellationToken.None).GetAwaiter().GetResult();
                _metrics.AuditWritten(batch.Count);
                if (attempt > 1) Log.Recovered(_logger, attempt);
                return true;
            }
            catch (Exception ex)
            {
                Log.WriteFailed(_logger, batch.Count, attempt, ex);
                if (stoppingToken.WaitHandle.WaitOne(delay) && attempt > 3) return false; // stopping: a few more tries, then give up
                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, _options.MaxRetryDelay.Ticks));
            }
        }
    }

    private static partial class Log
    {
        [LoggerMessage(30, LogLevel.Warning, "Audit buffer full ({Capacity}): record of request {RequestId} dropped")]
        public static partial void Dropped(ILogger logger, ulong requestId, int capacity);

        [LoggerMessage(31, LogLevel.Warning, "Writing {Count} audit records failed (attempt {Attempt}); retrying")]
        public static partial void WriteFailed(ILogger logger, int count, int attempt, Exception exception);

        [LoggerMessage(32, LogLevel.Information, "Audit store writable again after {Attempts} attempts")]
        public static partial void Recovered(ILogger logger, int attempts);

        [LoggerMessage(33, LogLevel.Error, "Shutting down with the audit store failing: {Count} records lost")]
        public static partial void LostAtShutdown(ILogger logger, int count);
    }
}
