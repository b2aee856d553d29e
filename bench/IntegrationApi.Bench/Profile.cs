using System.Diagnostics;

namespace IntegrationApi.Bench;

/// <summary>
/// A steady load for a profiler: the gateway as in <c>gateways</c>, warmed up, then one kind of chat back to back
/// for a fixed time. Attach the profiler to the printed pid after the "steady" line, e.g.
/// <c>perf record -F 4999 -g -p PID -- sleep 10</c> (gateway started with BENCH_OURS_ENV=DOTNET_PerfMapEnabled=1).
/// Run: dotnet IntegrationApi.Bench.dll profile [streamed|unary] [seconds] [--concurrency N] [--multiplexed] [--gateway-cpu N] (N streams, one chat in flight on each; --multiplexed: N chats in flight on one stream).
/// </summary>
internal static class Profile
{
    public static async Task RunAsync(string[] args)
    {
        var mode = args.Length > 0 && !args[0].StartsWith("--", StringComparison.Ordinal) ? args[0] : "streamed";
        var seconds = args.Length > 1 && int.TryParse(args[1], out var s) ? s : 20;
        var settings = BenchSettings.Parse(args);
        await using var upstream = await BenchUpstream.StartAsync(chunks: 8);
        await using var ours = await GatewayBench.StartOursAsync(settings, upstream.BaseUrl);
        var concurrency = Array.IndexOf(args, "--concurrency") is var c and >= 0 ? int.Parse(args[c + 1], System.Globalization.CultureInfo.InvariantCulture) : 1;
        // --multiplexed: one StreamChat carrying the N loops' chats as tagged requests (regime (c)'s first pattern).
        var multiplexed = args.Contains("--multiplexed");
        await using var shared = new GrpcChatTarget("multiplexed", ours.Address, GatewayBench.ApiKey, maxStreams: 1, maxInFlightPerStream: 1024);
        var owner = new GrpcChatTarget("profile", ours.Address, GatewayBench.ApiKey);
        var streams = Enumerable.Range(0, concurrency).Select(_ => new GrpcSequentialTarget("profile", owner)).ToArray();
        await Regimes.WarmUpAsync(multiplexed ? [shared] : [streams[0]], TimeSpan.FromSeconds(8));
        Console.WriteLine($"steady: {mode} chats for {seconds} s, gateway pid {ours.Process.Pid}");
        var cpuBefore = ours.Process.CpuSeconds();
        var switchesBefore = ContextSwitches(ours.Process.Pid);
        var until = Stopwatch.GetTimestamp() + seconds * Stopwatch.Frequency;
        var samples = new List<double>();
        await Task.WhenAll(streams.Select(async stream =>
        {
            while (Stopwatch.GetTimestamp() < until)
            {
                var sample = await (mode == "unary" ? owner.ChatAsync(false, Stopwatch.GetTimestamp())
                    : multiplexed ? shared.ChatAsync(true, Stopwatch.GetTimestamp())
                    : stream.ChatAsync(true, Stopwatch.GetTimestamp()));
                lock (samples) samples.Add(sample.TotalUs);
            }
        }));
        foreach (var stream in streams) stream.Dispose();
        var cpu = ours.Process.CpuSeconds() - cpuBefore;
        var switches = ContextSwitches(ours.Process.Pid) - switchesBefore;
        var d = Dist.Of(samples);
        Console.WriteLine($"{samples.Count} chats  p50 {Format.Us(d.P50)} us  p90 {Format.Us(d.P90)} us  p99 {Format.Us(d.P99)} us  gateway CPU {cpu * 1e6 / samples.Count:0.0} us/chat  context switches {switches / (double)samples.Count:0.0}/chat");
        await owner.DisposeAsync();
    }

    /// <summary>Voluntary and involuntary context switches of every thread of <paramref name="pid"/> (Linux), a measure of thread hand-offs that machine noise does not blur.</summary>
    private static long ContextSwitches(int pid)
    {
        long total = 0;
        foreach (var task in Directory.GetDirectories($"/proc/{pid}/task"))
        {
            try
            {
                foreach (var line in File.ReadLines(Path.Combine(task, "status")))
                    if (line.StartsWith("voluntary_ctxt_switches:", StringComparison.Ordinal) || line.StartsWith("nonvoluntary_ctxt_switches:", StringComparison.Ordinal))
                        total += long.Parse(line[(line.IndexOf(':') + 1)..].Trim(), System.Globalization.CultureInfo.InvariantCulture);
            }
            catch (IOException) { } // the thread ended
        }
        return total;
    }
}
