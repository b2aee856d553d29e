using System.Threading.Channels;
using Microsoft.Extensions.Options;

namespace IntegrationApi.Audit;

/// <summary>
/// Writes audit records off the hot path: requests enqueue into a bounded buffer; one loop writes them in batches.
/// A batch the store refuses is retried for a while, then kept in a local spool until the store takes writes again,
/// so nothing is lost across an outage and a restart. A record lost all the same (buffer full, or the spool failing
/// too) is counted in a metric and logged, never silently.
/// </summary>
/// <remarks>
/// <code>
///   Enqueue ─► buffer ─► batch ─► store ──ok──► spooled records due? ─► store, then removed from the spool
///                                   │
///                     refused: after Audit:SpoolAfter; at once while known down; after 3 quick tries at shutdown
///                                   ▼
///                                 spool (SQLite file) ──fails too──► dropped: metric + Error log
/// </code>
/// 1. Start: migrate the store, then deliver what an earlier run left in the spool (before the server listens).
/// 2. Loop: gather a batch, write it (<see cref="AuditDelivery.Write"/>); with the buffer empty and records spooled,
///    try the spool whenever its retry is due, so a store that came back is caught up without new traffic.
/// 3. Shutdown: the buffer is completed and written (or spooled), then one last try to deliver the spool.
/// </remarks>
public sealed partial class AuditWriter : BackgroundService
{
    private readonly AuditOptions _options;
    private readonly IAuditStore _store;
    private readonly Metrics.GatewayMetrics _metrics;
    private readonly ILogger<AuditWriter> _logger;
    private readonly TimeProvider _time;
    private readonly Channel<AuditRecord> _buffer;
    private readonly AuditDelivery _delivery;

    public AuditWriter(IAuditStore store, IOptions<AuditOptions> options, Metrics.GatewayMetrics metrics, IHostEnvironment environment,
        TimeProvider time, ILogger<AuditWriter> logger)
    {
        (_store, _options, _metrics, _time, _logger) = (store, options.Value, metrics, time, logger);
        _buffer = Channel.CreateBounded<AuditRecord>(new BoundedChannelOptions(_options.BufferCapacity)
        {
            SingleReader = true,
            FullMode = BoundedChannelFullMode.Wait, // TryWrite fails when full: the caller counts the drop
        });
        var spool = new AuditSpool(_options.ResolveSpoolPath(environment.ContentRootPath));
        _delivery = new AuditDelivery(store, spool, _options, metrics, time, logger);
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
        if (_options.Enabled)
        {
            await _store.MigrateAsync(cancellationToken).ConfigureAwait(false);
            _delivery.DeliverLeftovers();
        }
        await base.StartAsync(cancellationToken).ConfigureAwait(false);
    }

    public override Task StopAsync(CancellationToken cancellationToken)
    {
        _buffer.Writer.TryComplete(); // what is queued is still written (or spooled)
        return base.StopAsync(cancellationToken);
    }

    /// <summary>
    /// The write loop runs on a low-priority thread of its own, not the thread pool: a store call blocks (SQLite's
    /// async API is synchronous and a commit waits for fsync), and on a one-core machine a pool thread stuck there
    /// stalls every request queued behind it.
    /// </summary>
    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        _options.Enabled ? BackgroundThread.Run("Audit writer", () => WriteLoop(stoppingToken)) : Task.CompletedTask;

    private void WriteLoop(CancellationToken stoppingToken)
    {
        var batch = new List<AuditRecord>(_options.BatchSize);
        var reader = _buffer.Reader;
        Func<bool> fullBatchWaiting = () => reader.Count >= _options.BatchSize;
        while (true)
        {
            // Nothing new but records spooled: deliver them when due, else wait for new records until they are.
            if (reader.Count == 0 && !stoppingToken.IsCancellationRequested && _delivery.SpoolDueIn is { } dueIn)
            {
                if (dueIn <= TimeSpan.Zero)
                {
                    _delivery.DeliverSpool(fullBatchWaiting); // empties the spool, fails (a new due time) or yields to new records
                    continue;
                }
                if (!WaitForRecords(reader, dueIn)) continue;
            }
            if (!Wait(reader.WaitToReadAsync(CancellationToken.None))) break;
            // Let a batch gather; shutdown (the token) cuts the wait short.
            if (_options.FlushInterval > TimeSpan.Zero && reader.Count < _options.BatchSize && !stoppingToken.IsCancellationRequested)
                stoppingToken.WaitHandle.WaitOne(_options.FlushInterval);
            while (batch.Count < _options.BatchSize && reader.TryRead(out var record)) batch.Add(record);
            _delivery.Write(batch, stoppingToken, fullBatchWaiting);
            batch.Clear();
        }
        // Shutting down with records spooled: one last try, so that a store that came back is caught up now.
        if (_delivery.SpoolDueIn is not null) _delivery.DeliverSpool(static () => false);
    }

    private static bool Wait(ValueTask<bool> pending) => pending.IsCompletedSuccessfully ? pending.Result : pending.AsTask().GetAwaiter().GetResult();

    /// <summary>Waits up to <paramref name="timeout"/> for records (or the end of the buffer); false when the time ran out first.</summary>
    private bool WaitForRecords(ChannelReader<AuditRecord> reader, TimeSpan timeout)
    {
        using var timer = new CancellationTokenSource(timeout, _time);
        try
        {
            Wait(reader.WaitToReadAsync(timer.Token));
            return true;
        }
        catch (OperationCanceledException) when (timer.IsCancellationRequested)
        {
            return false;
        }
    }

    private static partial class Log
    {
        [LoggerMessage(30, LogLevel.Warning, "Audit buffer full ({Capacity}): record of request {RequestId} dropped")]
        public static partial void Dropped(ILogger logger, ulong requestId, int capacity);
    }
}
