namespace IntegrationApi.Bench;

/// <summary>One target's inter-chunk gaps in regime (e): every gap between two consecutive content deltas of a chat, as the caller saw them.</summary>
internal sealed record GapRow(string Target, int Chats, int Failures, int Incomplete, Dist GapsUs, Dist TransitUs)
{
    /// <summary>This target's gap percentiles minus the direct path's (null for the direct path itself).</summary>
    public Dist? AddedUs { get; set; }
    /// <summary>This target's chunk transit percentiles minus the direct path's: what the hop adds to every chunk, without the upstream's timer jitter.</summary>
    public Dist? AddedTransitUs { get; set; }
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
/// That jitter (tens of µs, more when the shared load core is busy) still blurs the difference, so every chunk also
/// carries the upstream's send time (<see cref="ChunkStamp"/>) and the caller times each chunk's transit; the added
/// transit (target minus direct, percentile by percentile) is the same cost measured without the upstream's timers.
/// </summary>
internal static class ChunkGaps
{
    public static readonly TimeSpan Gap = TimeSpan.FromMilliseconds(20);

    public static async Task<ChunkGapResult> RunAsync(BenchUpstream upstream, IReadOnlyList<(string Name, Func<IFramedTarget> Open, Action<IFramedTarget> Close)> targets,
        BenchSettings settings)
    {
        var previous = await upstream.UseChunksAsync(settings.GapChunks, stamped: true);
        (upstream.TimeToFirstToken, upstream.ChunkGap) = (Gap, Gap);
        try
        {
            // Targets take turns, chat by chat (then batch by batch), so drift of the shared machine hits all alike.
            var state = targets.Select(t => new TargetGaps(t.Name, t.Open, t.Close)).ToList();
            // One paced batch per target first, discarded: it opens the streams and connections, and a gateway's paced
            // path (chunks that each find it idle) is code the zero-latency warm-up never ran; its first use stalled for
            // hundreds of ms on a busy machine.
            foreach (var t in state) await t.RunAsync(settings.GapConcurrency, 1, settings.GapChunks);
            foreach (var t in state) t.Reset();
            for (var i = 0; i < settings.GapSequentialChats; i++)
                foreach (var t in state) await t.RunAsync(1, 1, settings.GapChunks);
            for (var i = 0; i < settings.GapConcurrentChats / settings.GapConcurrency; i++)
                foreach (var t in state) await t.RunAsync(settings.GapConcurrency, 1, settings.GapChunks);
            var rows = new List<GapRow>();
            foreach (var t in state)
            {
                var gaps = t.Clocks.SelectMany(c => c.GapsUs!).Order().ToArray();
                var row = new GapRow(t.Name, t.Chats, t.Failures, t.Incomplete, Dist.Of(gaps), Dist.Of(t.Clocks.SelectMany(c => c.TransitUs!))) { Samples = gaps };
                rows.Add(row);
                Console.WriteLine($"  {t.Name}: {t.Chats} chats, {gaps.Length} gaps: p50 {Format.Us(row.GapsUs.P50)} p90 {Format.Us(row.GapsUs.P90)} p99 {Format.Us(row.GapsUs.P99)} max {Format.Us(row.GapsUs.Max)} us;" +
                    $" chunk transit p50 {Format.Us(row.TransitUs.P50)} p99 {Format.Us(row.TransitUs.P99)} us ({row.TransitUs.N} stamped)" +
                    (t.Failures + t.Incomplete > 0 ? $"; FAILED {t.Failures}, incomplete {t.Incomplete}" : ""));
            }
            foreach (var t in state) t.Close();
            foreach (var row in rows.Skip(1))
            {
                row.AddedUs = row.GapsUs.Minus(rows[0].GapsUs);
                row.AddedTransitUs = row.TransitUs.Minus(rows[0].TransitUs);
                Console.WriteLine($"  {row.Target}: added gap p50 {Format.Us(row.AddedUs.P50)} us, p99 {Format.Us(row.AddedUs.P99)} us; added chunk transit p50 {Format.Us(row.AddedTransitUs.P50)} us, p99 {Format.Us(row.AddedTransitUs.P99)} us");
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

    /// <summary>One target's chats and clocks in regime (e).</summary>
    private sealed class TargetGaps(string name, Func<IFramedTarget> open, Action<IFramedTarget> close)
    {
        // Opened once and kept: worker w always uses the same stream (ours: a persistent StreamChat, as a caller would hold it).
        private readonly List<IFramedTarget> _targets = [];

        public string Name { get; } = name;
        public List<FrameClock> Clocks { get; } = [];

        public void Close() { foreach (var t in _targets) close(t); _targets.Clear(); }

        /// <summary>Forgets what was measured so far (the warm-up batch); the streams stay open.</summary>
        public void Reset() { Clocks.Clear(); Chats = Failures = Incomplete = 0; }
        public int Chats { get; private set; }
        public int Failures { get; private set; }
        public int Incomplete { get; private set; }

        /// <summary><paramref name="workers"/> at once, each on its own stream (ours) or pooled connection, <paramref name="chats"/> chats each.</summary>
        public async Task RunAsync(int workers, int chats, int chunks)
        {
            while (_targets.Count < workers) _targets.Add(open());
            var outcomes = await Task.WhenAll(Enumerable.Range(0, workers).Select(async w =>
            {
                var target = _targets[w];
                var clock = new FrameClock(keepGaps: true);
                var (failed, incomplete) = (0, 0);
                for (var i = 0; i < chats; i++)
                {
                    clock.NewChat();
                    var before = clock.Frames;
                    if (!await target.StreamFramesAsync(clock)) failed++;
                    else if (clock.Frames - before != chunks) incomplete++;
                }
                return (clock, failed, incomplete);
            }));
            foreach (var (clock, failed, incomplete) in outcomes)
            {
                Clocks.Add(clock);
                Chats += chats;
                Failures += failed;
                Incomplete += incomplete;
            }
        }
    }
}
