using System.Diagnostics;

namespace IntegrationApi.Bench;

/// <summary>
/// A steady load for a profiler: the gateway as in <c>gateways</c>, warmed up, then one kind of chat back to back
/// for a fixed time. Attach the profiler to the printed pid after the "steady" line, e.g.
/// <c>perf record -F 4999 -g -p PID -- sleep 10</c> (gateway started with BENCH_OURS_ENV=DOTNET_PerfMapEnabled=1).
/// Run: dotnet IntegrationApi.Bench.dll profile [streamed|unary|refused] [seconds] [--gateway-cpu N].
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
        var owner = new GrpcChatTarget("profile", ours.Address, GatewayBench.ApiKey);
        using var stream = new GrpcSequentialTarget("profile", owner);
        await Regimes.WarmUpAsync([stream], TimeSpan.FromSeconds(8));
        Console.WriteLine($"steady: {mode} chats for {seconds} s, gateway pid {ours.Process.Pid}");
        var cpuBefore = ours.Process.CpuSeconds();
        var until = Stopwatch.GetTimestamp() + seconds * Stopwatch.Frequency;
        var samples = new List<double>();
        while (Stopwatch.GetTimestamp() < until)
            samples.Add((await (mode == "unary" ? owner.ChatAsync(false, Stopwatch.GetTimestamp()) : stream.ChatAsync(true, Stopwatch.GetTimestamp()))).TotalUs);
        var cpu = ours.Process.CpuSeconds() - cpuBefore;
        var d = Dist.Of(samples);
        Console.WriteLine($"{samples.Count} chats  p50 {Format.Us(d.P50)} us  p90 {Format.Us(d.P90)} us  p99 {Format.Us(d.P99)} us  gateway CPU {cpu * 1e6 / samples.Count:0.0} us/chat");
        await owner.DisposeAsync();
    }
}
