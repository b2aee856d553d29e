namespace IntegrationApi.Bench;

/// <summary>One target's inter-chunk gaps in regime (e): every gap between two consecutive content deltas of a chat, as the caller saw them.</summary>
internal sealed record GapRow(string Target, int Chats, int Failures, int Incomplete, Dist GapsUs)
{
    /// <summary>This target's gap percentiles minus the direct path's (null for the direct path itself).</summary>
    public Dist? AddedUs { get; set; }
    [System.Text.Json.Serialization.JsonIgnore] public double[] Samples { get; init; } = [];
}

/// <summary>What regime (e) ran and measured.</summary>
internal sealed record ChunkGapResult(int Chunks, double GapMs, double FirstTokenMs, int SequentialChats, int ConcurrentChats, int Concurrency, List<GapRow> Rows);

/// <summary>
/// (e) Per-chunk cost: an upstream that sends <see cref="BenchSettings.GapChunks"/> content chunks 20 ms apart. A gateway
/// that is slow per delta (parsing, re-framing, a flush per message) shows it here, between chunks, where the
/// end-to-end figures of (a) hide it behind one request's fixed cost. Each target runs a few chats one at a time,
/// then a few <see cref="BenchSettings.GapConcurrency"/> at a time; gaps within a chat are timed (the wait before a
/// chat's first delta is the time to first token, regime a's business). The *added* gap is the target's percentile
/// minus the direct path's: the upstream's own timer jitter is in both, so the difference is what the hop adds.
/// </summary>
internal static class ChunkGaps
{
    public static readonly TimeSpan Gap = TimeSpan.FromMilliseconds(20);

    public static async Task<ChunkGapResult> RunAsync(BenchUpstream upstream, IReadOnlyList<(string Name, Func<IFramedTarget> Open, Action<IFramedTarget> Close)> targets,
        BenchSettings settings)
    {
        var previous = await upstream.UseChunksAsync(settings.GapChunks);
        (upstream.TimeToFirstToken, upstream.ChunkGap) = (Gap, Gap);
        try
        {
            var rows = new List<GapRow>();
            foreach (var (name, open, close) in targets)
            {
                var clocks = new List<FrameClock>();
                var failures = 0;
                var incomplete = 0;
                // One worker: its own stream (ours) or a connection from the pool (HTTP); chats back to back.
                async Task Worker(int chats)
                {
                    var target = open();
                    var clock = new FrameClock(keepGaps: true);
                    lock (clocks) clocks.Add(clock);
                    for (var i = 0; i < chats; i++)
                    {
                        clock.NewChat();
                        var before = clock.Frames;
                        if (!await target.StreamFramesAsync(clock)) Interlocked.Increment(ref failures);
                        else if (clock.Frames - before != settings.GapChunks) Interlocked.Increment(ref incomplete);
                    }
                    close(target);
                }
                await Worker(settings.GapSequentialChats);
                var perWorker = settings.GapConcurrentChats / settings.GapConcurrency;
                await Task.WhenAll(Enumerable.Range(0, settings.GapConcurrency).Select(_ => Worker(perWorker)));
                var gaps = clocks.SelectMany(c => c.GapsUs!).Order().ToArray();
                var chats = settings.GapSequentialChats + perWorker * settings.GapConcurrency;
                var row = new GapRow(name, chats, failures, incomplete, Dist.Of(gaps)) { Samples = gaps };
                rows.Add(row);
                Console.WriteLine($"  {name}: {chats} chats, {gaps.Length} gaps: p50 {Format.Us(row.GapsUs.P50)} p90 {Format.Us(row.GapsUs.P90)} p99 {Format.Us(row.GapsUs.P99)} max {Format.Us(row.GapsUs.Max)} us" +
                    (failures + incomplete > 0 ? $"; FAILED {failures}, incomplete {incomplete}" : ""));
            }
            foreach (var row in rows.Skip(1))
            {
                row.AddedUs = row.GapsUs.Minus(rows[0].GapsUs);
                Console.WriteLine($"  {row.Target}: added gap p50 {Format.Us(row.AddedUs.P50)} us, p99 {Format.Us(row.AddedUs.P99)} us");
            }
            return new ChunkGapResult(settings.GapChunks, Gap.TotalMilliseconds, Gap.TotalMilliseconds, settings.GapSequentialChats,
                settings.GapConcurrentChats / settings.GapConcurrency * settings.GapConcurrency, settings.GapConcurrency, rows);
        }
        finally
        {
            upstream.TimeToFirstToken = upstream.ChunkGap = TimeSpan.Zero;
            await upstream.UseChunksAsync(previous);
        }
    }
}
