using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using Grpc.Core;
using IntegrationApi.Contracts;

namespace IntegrationApi.Bench;

/// <summary>
/// <c>idle-memory [streams] [--gcdump]</c>: the gateway as <see cref="GatewayBench.StartOursAsync"/> starts it, warmed up,
/// then N <c>StreamChat</c> calls each used for one chat and left open, as in regime (d). Prints RSS per idle stream and,
/// with <c>--gcdump</c> (dotnet-gcdump on PATH), the live managed bytes per stream and the types that grew, per stream.
/// </summary>
internal static partial class IdleMemory
{
    public static async Task<int> RunAsync(string[] args)
    {
        var count = args.Length > 0 && int.TryParse(args[0], CultureInfo.InvariantCulture, out var n) ? n : 5000;
        var gcdump = args.Contains("--gcdump");
        await using var upstream = await BenchUpstream.StartAsync(chunks: 8);
        await using var ours = await GatewayBench.StartOursAsync(BenchSettings.Parse([]), upstream.BaseUrl);
        var headers = new Metadata { { "x-api-key", GatewayBench.ApiKey } };
        using var channel = GrpcChatTarget.CreateChannel(ours.Address);
        var stub = new LlmService.LlmServiceClient(channel);
        var request = BenchRequests.Grpc();

        // Warm-up: streams opened, used and closed, as the regimes before (d) leave the process.
        var (warm, _) = await OpenAsync(stub, headers, request, Math.Min(count, 2000));
        await CloseAsync(warm);
        await Task.Delay(2000);

        var before = gcdump ? await DumpAsync(ours.Process.Pid, "before") : null;
        var rssBefore = ours.Process.RssKb();
        var start = Stopwatch.GetTimestamp();
        var (calls, _) = await OpenAsync(stub, headers, request, count);
        var openSeconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
        await Task.Delay(2000); // as regime (d): let gen0 settle before reading the memory
        var rssAfter = ours.Process.RssKb();
        Console.WriteLine($"{count} idle streams (opened in {openSeconds:0.0} s): RSS {rssBefore / 1024.0:0.0} -> {rssAfter / 1024.0:0.0} MB, " +
            $"{(rssAfter - rssBefore) * 1024.0 / count / 1024:0.00} KB RSS per stream");
        if (gcdump)
        {
            var after = await DumpAsync(ours.Process.Pid, "after");
            var rssGc = ours.Process.RssKb();
            Console.WriteLine($"managed live: {before!.Total / 1024.0 / 1024:0.0} -> {after.Total / 1024.0 / 1024:0.0} MB, " +
                $"{(after.Total - before.Total) / 1024.0 / count:0.00} KB per stream; RSS after the dump's full GC {rssGc / 1024.0:0.0} MB " +
                $"({(rssGc - rssBefore) * 1024.0 / count / 1024:0.00} KB per stream)");
            Console.WriteLine($"{"bytes/stream",12} {"objs/stream",11}  type");
            foreach (var (type, (bytes, objects)) in after.Types
                         .Select(t => (t.Key, (t.Value.Bytes - before.Types.GetValueOrDefault(t.Key).Bytes, t.Value.Count - before.Types.GetValueOrDefault(t.Key).Count)))
                         .Where(t => t.Item2.Item1 > count * 8L).OrderByDescending(t => t.Item2.Item1).Take(60))
                Console.WriteLine($"{bytes / (double)count,12:0.0} {objects / (double)count,11:0.00}  {type}");
        }
        await CloseAsync(calls);
        return 0;
    }

    /// <summary>Opens <paramref name="count"/> StreamChat calls, 64 at a time, each used for one chat and left open (also regime (d)'s idle streams).</summary>
    internal static async Task<(AsyncDuplexStreamingCall<ChatRequest, ChatResponse>[] Calls, int Failures)> OpenAsync(LlmService.LlmServiceClient stub, Metadata headers, ChatRequest request, int count)
    {
        var calls = new AsyncDuplexStreamingCall<ChatRequest, ChatResponse>[count];
        var failures = 0;
        var next = -1;
        await Task.WhenAll(Enumerable.Range(0, 64).Select(async _ =>
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < count)
            {
                var call = calls[i] = stub.StreamChat(headers);
                await call.RequestStream.WriteAsync(request);
                var ok = false;
                while (await call.ResponseStream.MoveNext(CancellationToken.None))
                    if (call.ResponseStream.Current.FinishReason.Length > 0 || !call.ResponseStream.Current.Success) { ok = call.ResponseStream.Current.Success; break; }
                if (!ok) Interlocked.Increment(ref failures);
            }
        }));
        if (failures > 0) Console.WriteLine($"  {failures} chats failed");
        return (calls, failures);
    }

    private static async Task CloseAsync(AsyncDuplexStreamingCall<ChatRequest, ChatResponse>[] calls)
    {
        foreach (var call in calls)
        {
            try { await call.RequestStream.CompleteAsync(); } catch (Exception) { }
        }
        foreach (var call in calls)
        {
            try { while (await call.ResponseStream.MoveNext(CancellationToken.None)) { } } catch (Exception) { }
            call.Dispose();
        }
    }

    private sealed record Dump(long Total, Dictionary<string, (long Bytes, long Count)> Types);

    /// <summary>dotnet-gcdump collect + report: live bytes and objects by type (the dump forces a full GC).</summary>
    private static async Task<Dump> DumpAsync(int pid, string name)
    {
        var file = Path.Combine(BenchPaths.Work, $"idle-{name}.gcdump");
        File.Delete(file);
        await RunAsync("dotnet-gcdump", "collect", "-p", pid.ToString(CultureInfo.InvariantCulture), "-o", file);
        var report = await RunAsync("dotnet-gcdump", "report", file);
        var types = new Dictionary<string, (long, long)>();
        long total = 0;
        foreach (var line in report.Split('\n'))
        {
            var m = Row().Match(line);
            if (!m.Success) continue;
            // The report's first column is the size of one object of the row (an average for the size-bucketed rows).
            var (size, objects, type) = (long.Parse(m.Groups[1].Value.Replace(",", ""), CultureInfo.InvariantCulture),
                long.Parse(m.Groups[2].Value.Replace(",", ""), CultureInfo.InvariantCulture), m.Groups[3].Value.Trim());
            if (type.StartsWith("GC Heap", StringComparison.Ordinal)) continue;
            var bytes = size * objects;
            type = Regex.Replace(type, @"\s*\(Bytes > \d+K\)|\s*\[[^\]]*\]$", "");
            types[type] = (types.GetValueOrDefault(type).Item1 + bytes, types.GetValueOrDefault(type).Item2 + objects);
            total += bytes;
        }
        return new Dump(total, types);
    }

    [GeneratedRegex(@"^\s*([\d,]+)\s+([\d,]+)\s+(.+)$")]
    private static partial Regex Row();

    private static async Task<string> RunAsync(string program, params string[] args)
    {
        using var p = Process.Start(new ProcessStartInfo(program, args) { RedirectStandardOutput = true, RedirectStandardError = true })!;
        var output = p.StandardOutput.ReadToEndAsync();
        var error = await p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync();
        if (p.ExitCode != 0) throw new InvalidOperationException($"{program} {string.Join(' ', args)}: {error}");
        return await output;
    }
}
