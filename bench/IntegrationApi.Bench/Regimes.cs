using System.Diagnostics;
using Grpc.Core;
using Grpc.Net.Client;
using IntegrationApi.Contracts;

namespace IntegrationApi.Bench;

internal sealed record SequentialRow(string Target, string Mode, Dist Total, Dist? Ttft, int Failures)
{
    public Dist? AddedTotal { get; set; }
    public Dist? AddedTtft { get; set; }
    [System.Text.Json.Serialization.JsonIgnore] public double[] TotalSamples { get; init; } = [];
    [System.Text.Json.Serialization.JsonIgnore] public double[] TtftSamples { get; init; } = [];
}

/// <summary>A gateway process's CPU time per chat in the sequential regime: user + system seconds over chats, one target and mode alone.</summary>
internal sealed record CpuRow(string Target, string Mode, int Chats, double Seconds, double CpuUsPerChat);

internal sealed record RateStep(int Rate, int Sent, int Ok, double Achieved, Dist Ttft, Dist Total, double GatewayCpu, double LoadCpu, Dist StartLateness)
{
    public double SuccessRatio => Sent == 0 ? 0 : (double)Ok / Sent;
    public double? AddedP99Us { get; set; }
    public bool AddedIsUpperBound { get; set; }
    public bool Sustained => SuccessRatio >= 0.99 && Achieved >= 0.9 * Rate;
}

internal sealed record OpenLoopResult(string Target, List<RateStep> Steps)
{
    /// <summary>The highest offered rate that was sustained with p99 added latency under 5 ms.</summary>
    public int? MaxRateUnder5Ms => Steps.Where(s => s.Sustained && s.AddedP99Us is < 5000).Select(s => (int?)s.Rate).Max();
    public int? MaxSustainedRate => Steps.Where(s => s.Sustained).Select(s => (int?)s.Rate).Max();
}

internal sealed record ActiveResult(string Target, int Streams, int Chats, int Failures, Dist Ttft, Dist TtftOverhead, Dist Total,
    double GatewayCpu, long RssBeforeKb, long RssDuringKb, double LoadCpu)
{
    public double KbPerActiveStream => Streams == 0 ? 0 : (RssDuringKb - RssBeforeKb) / (double)Streams;
}

internal sealed record PatternRow(string Pattern, int Chats, int Concurrency, double Seconds, double ChatsPerSecond, Dist Total,
    double GatewayCpuUsPerChat, int Failures);

internal sealed record IdleResult(int Streams, long RssBeforeKb, long RssAfterKb, Dist TtftBefore, Dist TtftWithIdle, double OpenSeconds, int Failures)
{
    public double BytesPerIdleStream => Streams == 0 ? 0 : (RssAfterKb - RssBeforeKb) * 1024.0 / Streams;
}

/// <summary>The four regimes of the gateway comparison (bench/RESULTS.md). Latency is always measured from when a chat was due, so a late start counts.</summary>
internal static partial class Regimes
{
    private static partial class Native
    {
        [System.Runtime.InteropServices.LibraryImport("libc", EntryPoint = "usleep")]
        private static partial int USleep(uint microseconds);

        public static void Sleep(uint microseconds) => _ = USleep(microseconds);
    }

    /// <summary>
    /// Runs each target for <paramref name="duration"/> before anything is measured: a .NET gateway's hot methods reach
    /// their optimised (tier-1, PGO) code only after some seconds of steady calls, and a count of warm-up calls is not enough
    /// (after 500 the streamed chat was still 3× slower than after a few seconds).
    /// </summary>
    public static async Task WarmUpAsync(IEnumerable<IChatTarget> targets, TimeSpan duration)
    {
        foreach (var target in targets)
        {
            var until = Stopwatch.GetTimestamp() + (long)(duration.TotalSeconds * Stopwatch.Frequency);
            while (Stopwatch.GetTimestamp() < until)
            {
                await target.ChatAsync(false, Stopwatch.GetTimestamp());
                await target.ChatAsync(true, Stopwatch.GetTimestamp());
            }
        }
    }

    /// <summary>(a) One chat in flight; rounds interleave targets and modes so drift hits all alike.</summary>
    public static async Task<List<SequentialRow>> SequentialAsync(IReadOnlyList<IChatTarget> targets, int rounds, int perRound)
    {
        var samples = targets.SelectMany(t => new[] { (t, false), (t, true) }).ToDictionary(k => k, _ => new List<Sample>());
        for (var round = 0; round < rounds; round++)
            foreach (var key in samples.Keys)
                for (var i = 0; i < perRound; i++)
                    samples[key].Add(await key.Item1.ChatAsync(key.Item2, Stopwatch.GetTimestamp()));

        var rows = new List<SequentialRow>();
        foreach (var ((target, stream), list) in samples)
        {
            var ok = list.Where(s => s.Ok).ToArray();
            rows.Add(new SequentialRow(target.Name, stream ? "stream" : "chat", Dist.Of(ok.Select(s => s.TotalUs)),
                stream ? Dist.Of(ok.Select(s => s.TtftUs)) : null, list.Count - ok.Length)
            {
                TotalSamples = ok.Select(s => s.TotalUs).Order().ToArray(),
                TtftSamples = stream ? ok.Select(s => s.TtftUs).Order().ToArray() : [],
            });
        }
        foreach (var row in rows)
        {
            var baseline = rows.First(r => r.Mode == row.Mode);
            row.AddedTotal = row.Total.Minus(baseline.Total);
            if (row.Ttft is not null) row.AddedTtft = row.Ttft.Minus(baseline.Ttft!);
        }
        return rows;
    }

    /// <summary>
    /// (a) CPU per chat, one chat in flight: each gateway process gets sequential chats of one mode for
    /// <paramref name="each"/>, alone (the others are idle), and its user + system time over that span is divided by the
    /// chats. A span of time rather than a count of chats: /proc reports CPU time in 10 ms ticks, so a second of chats
    /// keeps that rounding near 1 %. Our figure includes its background work (audit flushes, timers), as in (c).
    /// </summary>
    public static async Task<List<CpuRow>> CpuPerChatAsync(IEnumerable<(GatewayProcess Process, IChatTarget Target)> targets, TimeSpan each)
    {
        var rows = new List<CpuRow>();
        foreach (var (process, target) in targets)
            foreach (var stream in new[] { false, true })
            {
                var chats = 0;
                var cpuStart = process.CpuSeconds();
                var start = Stopwatch.GetTimestamp();
                while (Stopwatch.GetElapsedTime(start) < each)
                {
                    await target.ChatAsync(stream, Stopwatch.GetTimestamp());
                    chats++;
                }
                var seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
                var row = new CpuRow(target.Name, stream ? "stream" : "chat", chats, seconds, (process.CpuSeconds() - cpuStart) * 1e6 / Math.Max(1, chats));
                rows.Add(row);
                Console.WriteLine($"  {row.Target,-28} {row.Mode,-6} {chats} chats in {seconds:0.0} s: gateway cpu {row.CpuUsPerChat:0.0} us/chat");
            }
        return rows;
    }

    public static async Task<(Dist Ttft, Dist Total)> PacedBaselineAsync(IChatTarget direct, int n)
    {
        var samples = new List<Sample>();
        for (var i = 0; i < n; i++) samples.Add(await direct.ChatAsync(true, Stopwatch.GetTimestamp()));
        return (Dist.Of(samples.Where(s => s.Ok).Select(s => s.TtftUs)), Dist.Of(samples.Where(s => s.Ok).Select(s => s.TotalUs)));
    }

    /// <summary>(d) <paramref name="streams"/> chats always in flight against the paced upstream, each stream (or connection) running chats back to back.</summary>
    public static async Task<ActiveResult> ActiveStreamsAsync(GatewayProcess? process, IChatTarget target, int streams, TimeSpan duration, ActiveResult? baseline)
    {
        var rssBefore = process?.RssKb() ?? 0;
        var perStream = new List<IChatTarget>();
        for (var i = 0; i < streams; i++)
            perStream.Add(target is GrpcChatTarget grpc ? new GrpcSequentialTarget(target.Name, grpc) : target);
        var samples = new List<Sample>[streams];
        var warm = new CountdownEvent(streams);
        // The clock starts once every stream has finished its first chat (opening 1,000 connections at once can take
        // a gateway seconds); from then on each stream runs chats back to back for the duration.
        var deadline = long.MaxValue;
        var measuring = new TaskCompletionSource();
        var giveUp = Stopwatch.GetTimestamp() + 60 * Stopwatch.Frequency;
        async Task Worker(int index)
        {
            var mine = samples[index] = [];
            var first = true;
            while (Stopwatch.GetTimestamp() < Volatile.Read(ref deadline) && Stopwatch.GetTimestamp() < giveUp + (long)(duration.TotalSeconds * Stopwatch.Frequency))
            {
                var sample = await perStream[index].ChatAsync(true, Stopwatch.GetTimestamp());
                if (first) { first = false; if (warm.Signal()) measuring.TrySetResult(); continue; } // the first chat opens the stream
                if (measuring.Task.IsCompleted) mine.Add(sample);
            }
            if (first && warm.Signal()) measuring.TrySetResult();
        }
        var workers = Enumerable.Range(0, streams).Select(Worker).ToArray();
        await Task.WhenAny(measuring.Task, Task.Delay(TimeSpan.FromSeconds(60)));
        var cpuStart = process?.CpuSeconds() ?? 0;
        var loadStart = SelfCpuSeconds();
        var wallStart = Stopwatch.GetTimestamp();
        Volatile.Write(ref deadline, wallStart + (long)(duration.TotalSeconds * Stopwatch.Frequency));
        long rssDuring = 0;
        var sampler = Task.Run(async () =>
        {
            while (Stopwatch.GetTimestamp() < Volatile.Read(ref deadline)) { rssDuring = Math.Max(rssDuring, process?.RssKb() ?? 0); await Task.Delay(200); }
        });
        await Task.WhenAll(workers);
        var wall = Stopwatch.GetElapsedTime(wallStart).TotalSeconds;
        var cpu = process is null ? 0 : (process.CpuSeconds() - cpuStart) / wall;
        var loadCpu = (SelfCpuSeconds() - loadStart) / wall;
        await sampler;
        foreach (var t in perStream.OfType<GrpcSequentialTarget>()) t.Dispose();
        var all = samples.SelectMany(s => s).ToArray();
        var ok = all.Where(s => s.Ok).ToArray();
        var ttft = Dist.Of(ok.Select(s => s.TtftUs));
        Console.WriteLine($"  {target.Name}: {streams} active, {ok.Length} chats, ttft p50 {Format.Us(ttft.P50)} us p99 {Format.Us(ttft.P99)} us, cpu {cpu:P0}, load core {loadCpu:P0}");
        return new ActiveResult(target.Name, streams, all.Length, all.Length - ok.Length, ttft, baseline is null ? ttft.Minus(ttft) : ttft.Minus(baseline.Ttft),
            Dist.Of(ok.Select(s => s.TotalUs)), cpu, rssBefore, rssDuring, loadCpu);
    }

    /// <summary>(b) Constant arrival rate, stepping up until the gateway stops keeping up.</summary>
    public static async Task<OpenLoopResult> OpenLoopAsync(GatewayProcess? process, IChatTarget target, BenchSettings settings, OpenLoopResult? direct = null)
    {
        var result = new OpenLoopResult(target.Name, []);
        await StepAsync(process, target, settings.Rates[0], TimeSpan.FromSeconds(1)); // priming, discarded: the first paced second carries one-off costs
        foreach (var rate in settings.Rates)
        {
            var step = await StepAsync(process, target, rate, settings.StepDuration);
            var baseline = direct?.Steps.FirstOrDefault(s => s.Rate == rate);
            // Without a sustained direct step at this rate (the load core could not drive the direct path that fast), the
            // gateway's own p99 is an upper bound of what it added.
            step.AddedIsUpperBound = direct is not null && baseline is not { Sustained: true };
            step.AddedP99Us = direct is null ? 0 : step.AddedIsUpperBound ? step.Total.P99 : step.Total.P99 - baseline!.Total.P99;
            result.Steps.Add(step);
            Console.WriteLine($"  {target.Name} @ {rate}/s: ok {step.SuccessRatio:P1}, achieved {step.Achieved:0}/s, ttft p99 {Format.Us(step.Ttft.P99)} us, end p99 {Format.Us(step.Total.P99)} us, added p99 {(step.AddedIsUpperBound ? "<= " : "")}{(step.AddedP99Us is { } a ? Format.Us(a) : "-")} us, gateway cpu {step.GatewayCpu:P0}, load core {step.LoadCpu:P0}, start late p99 {Format.Us(step.StartLateness.P99)} us");
            if (!step.Sustained || step.Total.P99 > 1_000_000) break;
        }
        return result;
    }

    /// <summary>Offers <paramref name="rate"/> streamed chats per second for <paramref name="duration"/>; waits up to 5 s for the last ones.</summary>
    private static async Task<RateStep> StepAsync(GatewayProcess? process, IChatTarget target, int rate, TimeSpan duration)
    {
        var n = (int)(rate * duration.TotalSeconds);
        var tasks = new Task<Sample>[n];
        var period = Stopwatch.Frequency / (double)rate;
        var cpuStart = process?.CpuSeconds() ?? 0;
        var loadStart = SelfCpuSeconds();
        var start = Stopwatch.GetTimestamp() + Stopwatch.Frequency / 100;
        var lateness = new double[n];
        // A dedicated thread sleeps (usleep: ~60 µs precision, not the 1-4 ms of a timer) until each chat is due and starts it.
        var scheduled = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously); // never block a pool thread on Join: with one core that starves the pool
        var scheduler = new Thread(() =>
        {
            for (var i = 0; i < n; i++)
            {
                var due = start + (long)(i * period);
                var wait = (due - Stopwatch.GetTimestamp()) * 1_000_000 / Stopwatch.Frequency;
                if (wait > 80) Native.Sleep((uint)(wait - 60));
                lateness[i] = Math.Max(0, (Stopwatch.GetTimestamp() - due) * 1e6 / Stopwatch.Frequency);
                tasks[i] = target.ChatAsync(true, due);
            }
            scheduled.SetResult();
        }) { IsBackground = true, Name = "open-loop scheduler" };
        scheduler.Start();
        await scheduled.Task;
        var window = Stopwatch.GetElapsedTime(start).TotalSeconds;
        var cpu = process is null ? 0 : (process.CpuSeconds() - cpuStart) / window;
        var loadCpu = (SelfCpuSeconds() - loadStart) / window;
        await Task.WhenAny(Task.WhenAll(tasks), Task.Delay(TimeSpan.FromSeconds(5)));
        var samples = tasks.Select(t => t.IsCompletedSuccessfully ? t.Result : new Sample(false, 0, 0)).ToArray();
        var ok = samples.Where(s => s.Ok).ToArray();
        return new RateStep(rate, n, ok.Length, ok.Length / window, Dist.Of(ok.Select(s => s.TtftUs)), Dist.Of(ok.Select(s => s.TotalUs)), cpu, loadCpu, Dist.Of(lateness));
    }

    /// <summary>CPU seconds of this process: the load generator and the upstream, which share the load core.</summary>
    internal static double SelfCpuSeconds() => Process.GetCurrentProcess().TotalProcessorTime.TotalSeconds;

    /// <summary>(c) The same chats over four connection patterns, <see cref="BenchSettings.PatternConcurrency"/> at a time.</summary>
    public static async Task<List<PatternRow>> PatternsAsync(OursGateway ours, string apiKey, BenchSettings settings)
    {
        var headers = new Metadata { { "x-api-key", apiKey } };
        using var channel = GrpcChatTarget.CreateChannel(ours.Address);
        var stub = new LlmService.LlmServiceClient(channel);
        await using var multiplexed = new GrpcChatTarget("multiplexed", ours.Address, apiKey, maxStreams: 1, maxInFlightPerStream: 1024);
        var request = BenchRequests.Grpc();

        async Task<bool> OneStream(LlmService.LlmServiceClient client)
        {
            using var call = client.StreamChat(headers);
            await call.RequestStream.WriteAsync(request);
            await call.RequestStream.CompleteAsync();
            var ok = false;
            while (await call.ResponseStream.MoveNext(CancellationToken.None))
                if (call.ResponseStream.Current.FinishReason.Length > 0 || !call.ResponseStream.Current.Success) ok = call.ResponseStream.Current.Success;
            return ok;
        }

        var patterns = new (string Name, Func<Task<bool>> Chat)[]
        {
            ("one persistent StreamChat, chats multiplexed (tagged)", async () => (await multiplexed.ChatAsync(true, Stopwatch.GetTimestamp())).Ok),
            ("unary Chat per chat (one channel)", async () => (await stub.ChatAsync(request, headers)).Success),
            ("new StreamChat per chat (one channel)", () => OneStream(stub)),
            ("new connection + StreamChat per chat", async () =>
            {
                using var fresh = GrpcChatTarget.CreateChannel(ours.Address);
                return await OneStream(new LlmService.LlmServiceClient(fresh));
            }),
        };
        var rows = new List<PatternRow>();
        foreach (var (name, chat) in patterns)
        {
            // A connection per chat leaves a socket in TIME_WAIT per chat on each side; fewer of them keep the sandbox's descriptor budget.
            var chats = name.StartsWith("new connection", StringComparison.Ordinal) ? Math.Min(settings.PatternChats, 1000) : settings.PatternChats;
            for (var i = 0; i < 100; i++) { try { await chat(); } catch (Exception ex) when (ex is RpcException or IOException or HttpRequestException) { } } // warm-up
            var latencies = new List<double>[settings.PatternConcurrency];
            var failures = 0;
            var remaining = chats;
            var cpuStart = ours.Process.CpuSeconds();
            var start = Stopwatch.GetTimestamp();
            await Task.WhenAll(Enumerable.Range(0, settings.PatternConcurrency).Select(async w =>
            {
                var mine = latencies[w] = [];
                while (Interlocked.Decrement(ref remaining) >= 0)
                {
                    var t0 = Stopwatch.GetTimestamp();
                    bool ok;
                    try { ok = await chat(); } catch (Exception ex) when (ex is RpcException or IOException or HttpRequestException) { ok = false; }
                    if (ok) mine.Add(Stopwatch.GetElapsedTime(t0).TotalMicroseconds);
                    else Interlocked.Increment(ref failures);
                }
            }));
            var seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
            var cpuUs = (ours.Process.CpuSeconds() - cpuStart) * 1e6 / chats;
            var row = new PatternRow(name, chats, settings.PatternConcurrency, seconds, chats / seconds,
                Dist.Of(latencies.SelectMany(l => l)), cpuUs, failures);
            rows.Add(row);
            Console.WriteLine($"  {name}: {row.ChatsPerSecond:0} chats/s, p50 {Format.Us(row.Total.P50)} us, p99 {Format.Us(row.Total.P99)} us, gateway cpu {cpuUs:0} us/chat");
        }
        return rows;
    }

    /// <summary>(d) Idle streams: open many, each used for one chat, then left open; memory per stream and the TTFT of another stream meanwhile.</summary>
    public static async Task<IdleResult> IdleStreamsAsync(OursGateway ours, GrpcChatTarget owner, string apiKey, int count)
    {
        async Task<Dist> TtftAsync()
        {
            using var probe = new GrpcSequentialTarget("probe", owner);
            var samples = new List<double>();
            for (var i = 0; i < 400; i++)
            {
                var s = await probe.ChatAsync(true, Stopwatch.GetTimestamp());
                if (s.Ok && i >= 100) samples.Add(s.TtftUs);
            }
            return Dist.Of(samples);
        }

        GC.Collect();
        var before = await TtftAsync();
        var rssBefore = ours.Process.RssKb();
        var headers = new Metadata { { "x-api-key", apiKey } };
        using var channel = GrpcChatTarget.CreateChannel(ours.Address);
        var stub = new LlmService.LlmServiceClient(channel);
        var request = BenchRequests.Grpc();
        var start = Stopwatch.GetTimestamp();
        var (calls, failures) = await IdleMemory.OpenAsync(stub, headers, request, count);
        var openSeconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
        await Task.Delay(2000); // let the gateway's allocations settle (gen0 collections) before reading its memory
        var rssAfter = ours.Process.RssKb();
        var with = await TtftAsync();
        var result = new IdleResult(count, rssBefore, rssAfter, before, with, openSeconds, failures);
        Console.WriteLine($"  {count} idle streams: RSS {rssBefore / 1024.0:0} -> {rssAfter / 1024.0:0} MB, {result.BytesPerIdleStream / 1024:0.0} KB per stream; " +
            $"ttft p50 {Format.Us(before.P50)} -> {Format.Us(with.P50)} us, p99 {Format.Us(before.P99)} -> {Format.Us(with.P99)} us");
        foreach (var call in calls)
        {
            if (call is null) continue;
            try { await call.RequestStream.CompleteAsync(); } catch (Exception) { }
            call.Dispose();
        }
        return result;
    }
}
