using System.Diagnostics;

namespace IntegrationApi.Bench;

/// <summary>One step of regime (f): <see cref="Streams"/> streams for a while, and whether it passed the gate.</summary>
internal sealed record PacedStep(string Target, int Streams, long Chats, long FailedChats, long IncompleteChats, long FramesExpected, long FramesReceived,
    double MaxGapMs, double GatewayCpu, double LoadCpu, long RssKb, double Seconds)
{
    /// <summary>Streams that saw a gap over the gate's limit, and when (seconds from the step's start) the longest one ended.</summary>
    public int StreamsOverGap { get; set; }
    /// <summary>
    /// Frames delivered per second during the window as a share of what the pacing offers (N streams × chunks per chat
    /// ÷ a chat's length, first-token wait included): under 100 % the path is late, even where no gap broke the gate.
    /// </summary>
    public double PaceKept { get; set; }
    public double WorstGapEndedAtS { get; set; }
    public bool Passed { get; set; }
    /// <summary>Why the step failed the gate (empty when it passed).</summary>
    public string Why { get; set; } = "";
}

/// <summary>What regime (f) ran: the pacing, the steps of each path, and steps the descriptor limit ruled out.</summary>
internal sealed record PacedResult(int Chunks, double GapMs, double FirstTokenMs, double StepSeconds, int[] Offered, List<PacedStep> Steps, List<string> Notes)
{
    /// <summary>The highest stream count at which <paramref name="target"/> passed the gate, every lower step passing too.</summary>
    public int? HighestPassing(string target) => Steps.Where(s => s.Target == target).TakeWhile(s => s.Passed).Select(s => (int?)s.Streams).Max();
}

/// <summary>
/// (f) Sustained paced streams: N streams open at once, each running streamed chats back to back against an upstream
/// that sends a chunk every <see cref="Gap"/> (first token after the same wait), <see cref="BenchSettings.PacedChunks"/>
/// chunks a chat: the shape of many users reading answers as they are generated, where a gateway's cost is per delta
/// and per open stream rather than per request. N steps up; a step passes the gate when every frame of every finished
/// chat arrived, no stream saw two consecutive frames more than 10× the pacing apart, and under 0.1 % of chats failed.
/// The direct path (HTTP/SSE to the upstream, one keep-alive connection per stream) runs the same steps first: the load
/// generator and the upstream share one core, so the report can tell which side ran out.
/// </summary>
internal static class PacedStreams
{
    public static readonly TimeSpan Gap = TimeSpan.FromMilliseconds(100);
    private const double MaxErrorRatio = 0.001;
    private const int MaxGapFactor = 10;

    public static async Task<PacedResult> RunAsync(BenchUpstream upstream, OursGateway ours, string apiKey, BenchSettings settings)
    {
        var previous = await upstream.UseChunksAsync(settings.PacedChunks);
        (upstream.TimeToFirstToken, upstream.ChunkGap) = (Gap, Gap);
        var result = new PacedResult(settings.PacedChunks, Gap.TotalMilliseconds, Gap.TotalMilliseconds, settings.PacedStepDuration.TotalSeconds, settings.PacedStreams, [], []);
        try
        {
            // The direct path holds both ends of every connection in this process: two descriptors a stream, on top of
            // what is open already (earlier regimes' pooled connections, both ours and the gateway's to the upstream).
            var limit = DescriptorLimit();
            foreach (var n in settings.PacedStreams)
            {
                var open = OpenDescriptors();
                if (2 * n + open + 500 > limit)
                {
                    result.Notes.Add($"direct path at {n} streams not run: it needs ~{2 * n} more descriptors in the bench process (both ends of every connection), {open} are open, the limit (ulimit -n) is {limit}");
                    Console.WriteLine($"  {result.Notes[^1]}");
                    continue;
                }
                // A fresh pool per step: its connections close with it, so the next step's descriptors are its own.
                using var direct = new HttpChatTarget("upstream (direct)", upstream.BaseUrl + "/chat/completions", n + 100, ("authorization", "Bearer " + BenchUpstream.Key));
                var step = await StepAsync(direct.Name, n, () => direct, _ => { }, null, settings);
                result.Steps.Add(step);
                if (!step.Passed) break;
            }
            foreach (var n in settings.PacedStreams)
            {
                // A fresh channel per step (its HTTP/2 connections close with it); the gateway keeps its upstream connections pooled.
                await using var owner = new GrpcChatTarget("integration-api", ours.Address, apiKey);
                var step = await StepAsync(owner.Name, n, () => new GrpcSequentialTarget(owner.Name, owner), t => ((GrpcSequentialTarget)t).Dispose(), ours.Process, settings);
                result.Steps.Add(step);
                if (!step.Passed) break;
            }
            return result;
        }
        finally
        {
            upstream.TimeToFirstToken = upstream.ChunkGap = TimeSpan.Zero;
            await upstream.UseChunksAsync(previous);
        }
    }

    /// <summary>
    /// Opens <paramref name="n"/> streams, spread over a short ramp (so they do not all tick on the same millisecond), runs
    /// chats on each until the step's time is up, then lets the chats in flight finish. CPU and memory are read over the
    /// window after the ramp, when every stream is running.
    /// </summary>
    private static async Task<PacedStep> StepAsync(string name, int n, Func<IFramedTarget> open, Action<IFramedTarget> close, GatewayProcess? process, BenchSettings settings)
    {
        var chunks = settings.PacedChunks;
        var ramp = TimeSpan.FromMilliseconds(Math.Min(2000, n * 0.2));
        var clocks = new FrameClock[n];
        long chats = 0, failed = 0, incomplete = 0;
        var start = Stopwatch.GetTimestamp();
        var windowStart = start + (long)(ramp.TotalSeconds * Stopwatch.Frequency);
        var deadline = windowStart + (long)(settings.PacedStepDuration.TotalSeconds * Stopwatch.Frequency);
        using var abandon = new CancellationTokenSource();
        async Task Worker(int i)
        {
            await Task.Delay(TimeSpan.FromTicks(ramp.Ticks * i / n));
            var clock = clocks[i] = new FrameClock(keepGaps: false);
            var target = open();
            try
            {
                while (Stopwatch.GetTimestamp() < deadline && !abandon.IsCancellationRequested)
                {
                    Interlocked.Increment(ref chats);
                    var before = clock.Frames;
                    if (!await target.StreamFramesAsync(clock))
                    {
                        Interlocked.Increment(ref failed);
                        // A broken stream is replaced; the pause keeps a failing path from spinning the load core.
                        if (target is GrpcSequentialTarget { Broken: true }) { close(target); target = open(); }
                        await Task.Delay(Gap);
                        clock.NewChat(); // the pause is the bench's, not the path's
                    }
                    else if (clock.Frames - before != chunks) Interlocked.Increment(ref incomplete);
                }
            }
            finally { close(target); }
        }
        var workers = Enumerable.Range(0, n).Select(Worker).ToArray();

        // The measuring window: from the end of the ramp to the deadline.
        await Task.Delay(ramp);
        var cpuStart = process?.CpuSeconds() ?? 0;
        var loadStart = Regimes.SelfCpuSeconds();
        var wallStart = Stopwatch.GetTimestamp();
        long Delivered() => clocks.Sum(c => c?.Frames ?? 0); // read while the streams write: a count off by a frame or two
        var framesStart = Delivered();
        long rss = 0;
        while (Stopwatch.GetTimestamp() < deadline)
        {
            rss = Math.Max(rss, process?.RssKb() ?? 0);
            await Task.Delay(250);
        }
        var wall = Stopwatch.GetElapsedTime(wallStart).TotalSeconds;
        var cpu = process is null ? 0 : (process.CpuSeconds() - cpuStart) / wall;
        var load = (Regimes.SelfCpuSeconds() - loadStart) / wall;
        var paceKept = (Delivered() - framesStart) / wall / (n / Gap.TotalSeconds); // a chat: first token after one Gap, then chunks - 1 more

        // The last chats finish within one chat's length; a path that is far behind is given up on after 30 s more.
        var chatLength = Gap * (chunks + 1);
        var all = Task.WhenAll(workers);
        if (await Task.WhenAny(all, Task.Delay(chatLength + TimeSpan.FromSeconds(30))) != all)
        {
            // No new chats; the caller disposes the pool or channel, which ends the ones still hanging.
            await abandon.CancelAsync();
            await Task.WhenAny(all, Task.Delay(TimeSpan.FromSeconds(5)));
        }
        var seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
        var started = Interlocked.Read(ref chats);
        var received = clocks.Sum(c => c?.Frames ?? 0);
        var maxGap = clocks.Max(c => c?.MaxGapMs ?? 0);
        var step = new PacedStep(name, n, started, Interlocked.Read(ref failed), Interlocked.Read(ref incomplete), started * chunks, received, maxGap, cpu, load, rss, seconds);
        var limitTicks = MaxGapFactor * Gap.TotalSeconds * Stopwatch.Frequency;
        step.PaceKept = paceKept;
        step.StreamsOverGap = clocks.Count(c => c is not null && c.MaxGapTicks > limitTicks);
        if (clocks.Where(c => c is not null).MaxBy(c => c.MaxGapTicks) is { MaxGapEnded: > 0 } worst)
            step.WorstGapEndedAtS = (worst.MaxGapEnded - start) / (double)Stopwatch.Frequency;
        // Chats still running after the grace period never finished: they count as failed.
        var unfinished = workers.Count(w => !w.IsCompleted);
        var errors = step.FailedChats + unfinished;
        var why = new List<string>();
        if (step.IncompleteChats > 0) why.Add($"{step.IncompleteChats} chats ended without all their frames");
        if (step.MaxGapMs > MaxGapFactor * Gap.TotalMilliseconds)
            why.Add($"max gap {step.MaxGapMs:0} ms > {MaxGapFactor * Gap.TotalMilliseconds:0} ms ({step.StreamsOverGap} streams over; the longest ended {step.WorstGapEndedAtS:0.0} s into the step, ramp {ramp.TotalSeconds:0.0} s)");
        if (errors > MaxErrorRatio * Math.Max(1, started)) why.Add($"{errors} of {started} chats failed{(unfinished > 0 ? $" ({unfinished} streams still running after the grace period)" : "")}");
        step.Passed = why.Count == 0;
        step.Why = string.Join("; ", why);
        Console.WriteLine($"  {name} x {n}: {started} chats, frames {received}/{step.FramesExpected}, max gap {maxGap:0.0} ms, pace kept {paceKept:P0}, failed {step.FailedChats}, " +
            $"gateway cpu {(process is null ? "-" : cpu.ToString("P0", System.Globalization.CultureInfo.InvariantCulture))}, load core {load:P0}, rss {rss / 1024.0:0} MB: {(step.Passed ? "pass" : "FAIL: " + step.Why)}");
        return step;
    }

    private static int OpenDescriptors()
    {
        try { return Directory.GetFiles("/proc/self/fd").Length; } catch (IOException) { return 0; } catch (UnauthorizedAccessException) { return 0; }
    }

    /// <summary>This process's open-descriptor limit (soft), from /proc; 1024 when it cannot be read.</summary>
    private static long DescriptorLimit()
    {
        try
        {
            var line = File.ReadLines("/proc/self/limits").First(l => l.StartsWith("Max open files", StringComparison.Ordinal));
            return long.Parse(line["Max open files".Length..].Trim().Split(' ', StringSplitOptions.RemoveEmptyEntries)[0], System.Globalization.CultureInfo.InvariantCulture);
        }
        catch (Exception ex) when (ex is IOException or InvalidOperationException or FormatException) { return 1024; }
    }
}
