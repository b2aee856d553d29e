using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using IntegrationApi.Auth;

namespace IntegrationApi.Bench;

/// <summary>
/// The gateway comparison: one zero-latency upstream, the direct path as the baseline, our gateway and
/// the peers each in a process pinned to the gateway core, the load generator and upstream on the other core.
/// Regimes run in an order that keeps one gateway's overload from leaking into another's numbers.
/// </summary>
internal static class GatewayBench
{
    internal const string ApiKey = "bench-api-key";

    public static async Task<int> RunAsync(BenchSettings settings)
    {
        if (settings.Repeat <= 1)
        {
            if (await RunOnceAsync(settings, last: true) is { } single) await single.WriteAsync();
            return 0;
        }
        // --repeat N: the whole comparison N times, each with fresh processes; every run's figures are kept
        // (bench/results/runs/run-K.json) and the headline gives their median and spread. Hedging (h), which repeats
        // itself (--hedge-runs), runs in the last run only.
        var started = Stopwatch.GetTimestamp();
        var runsDir = Path.Combine(BenchPaths.Bench, "results", settings.Quick ? "runs-quick" : "runs");
        Directory.CreateDirectory(runsDir);
        foreach (var old in Directory.GetFiles(runsDir, "run-*.json")) File.Delete(old); // a shorter series never mixes with an older, longer one
        var reports = new List<BenchReport>();
        for (var k = 1; k <= settings.Repeat; k++)
        {
            Console.WriteLine($"=== run {k} of {settings.Repeat}");
            var report = await RunOnceAsync(settings, last: k == settings.Repeat);
            if (report is null) return 0;
            reports.Add(report);
            await File.WriteAllTextAsync(Path.Combine(runsDir, $"run-{k}.json"), report.ToJson());
        }
        var final = reports[^1];
        final.Spread = HeadlineSpread.Of(reports.Select(r => r.Headline).ToList());
        final.Elapsed = Stopwatch.GetElapsedTime(started);
        await final.WriteAsync();
        return 0;
    }

    /// <summary>One run of the comparison; null when it only ran hedging or the floor split (nothing for RESULTS.md).</summary>
    private static async Task<BenchReport?> RunOnceAsync(BenchSettings settings, bool last)
    {
        var started = Stopwatch.GetTimestamp();
        var report = new BenchReport(settings);
        await using var upstream = await BenchUpstream.StartAsync(chunks: int.TryParse(Environment.GetEnvironmentVariable("BENCH_CHUNKS"), out var c) ? c : 8);
        Console.WriteLine($"upstream (zero-latency OpenAI, {upstream.ContentChunks} content chunks) at {upstream.BaseUrl}");

        await using var ours = await StartOursAsync(settings, upstream.BaseUrl);
        if (!"abcdef".Any(settings.Runs))
        {
            // Hedging alone (--only h): no peers, no warm-up for the other regimes, bench/RESULTS.md left as it is.
            Console.WriteLine("(h) hedging against a sometimes-slow primary");
            if (settings.Runs('h')) await Hedging.RunAsync(ours, ApiKey, upstream, settings);
            return null;
        }
        var peers = new List<(GatewayProcess Process, HttpChatTarget Target)>();
        if (await StartPortkeyAsync(settings, upstream.BaseUrl, report) is { } portkey) peers.Add(portkey);
        report.Peers.Add(new PeerStatus("LiteLLM", false,
            "not run: it is a Python package and this machine's Python index (PyPI) is unreachable (pip: \"No matching distribution found for litellm\"); there is no npm or Debian package"));
        report.Peers.Add(new PeerStatus("Bifrost", false,
            "not run: npm @maximhq/bifrost 1.6.3 is only a launcher that downloads the Go binary from getbifrost.ai at first start (ENOTFOUND here, no internet); building it needs Go >= 1.24 and its modules from proxy.golang.org, and Debian 12 has Go 1.19"));

        using var direct = new HttpChatTarget("upstream (direct)", upstream.BaseUrl + "/chat/completions", ("authorization", "Bearer " + BenchUpstream.Key));
        await using var oursTarget = new GrpcChatTarget("integration-api", ours.Address, ApiKey);
        using var oursSequential = new GrpcSequentialTarget("integration-api", oursTarget);
        // The same service through its OpenAI-compatible HTTP surface (docs/openai-http.md): regime (a) only.
        using var oursHttp = new HttpChatTarget("integration-api (OpenAI HTTP)", ours.OpenAIAddress + "/v1/chat/completions", "openai/" + BenchRequests.Model,
            ("authorization", "Bearer " + ApiKey), ("x-provider-key", BenchUpstream.Key));

        if (settings.Floor)
        {
            await Floor.RunAsync(ours.Address, ApiKey);
            await ours.Process.InterruptAsync();
            return null;
        }
        // The floor (regimes a and e only): a plain reverse proxy, not a peer gateway; stopped after (e).
        var floor = settings.Runs('a') || settings.Runs('e') ? await Haproxy.StartAsync(settings, upstream.BaseUrl, report) : null;
        await using var floorOnError = floor?.Process; // stopped after (e); this stops it if a regime before that throws
        var sequentialTargets = new List<IChatTarget> { direct, oursSequential, oursHttp };
        if (floor is { } f) sequentialTargets.Add(f.Target);
        sequentialTargets.AddRange(peers.Select(p => (IChatTarget)p.Target));
        await Regimes.WarmUpAsync(sequentialTargets, settings.Quick ? TimeSpan.FromSeconds(4) : TimeSpan.FromSeconds(8));

        Console.WriteLine("(a) sequential, interleaved rounds");
        if (settings.Runs('a'))
        {
            report.Sequential = await Regimes.SequentialAsync(sequentialTargets, settings.Rounds, settings.PerRound);
            report.PrintSequential();
            // Then each gateway process alone, for its CPU time per chat (HAProxy's is the floor ours is compared with).
            var cpuTargets = new List<(GatewayProcess, IChatTarget)> { (ours.Process, oursSequential), (ours.Process, oursHttp) };
            if (floor is { } fl) cpuTargets.Add((fl.Process, fl.Target));
            cpuTargets.AddRange(peers.Select(p => (p.Process, (IChatTarget)p.Target)));
            report.SequentialCpu = await Regimes.CpuPerChatAsync(cpuTargets, settings.Quick ? TimeSpan.FromSeconds(0.5) : TimeSpan.FromSeconds(1));
        }

        Console.WriteLine("(e) per-chunk gaps against a paced upstream (50 chunks, 20 ms apart)");
        if (settings.Runs('e'))
        {
            var gapTargets = new List<(string, Func<IFramedTarget>, Action<IFramedTarget>)>
            {
                (direct.Name, () => direct, _ => { }),
                // Ours: a persistent StreamChat per worker, as a caller holding its stream would use it.
                (oursTarget.Name, () => new GrpcSequentialTarget(oursTarget.Name, oursTarget), t => ((GrpcSequentialTarget)t).Dispose()),
            };
            if (floor is { } fe) gapTargets.Add((fe.Target.Name, () => fe.Target, _ => { }));
            report.ChunkGaps = await ChunkGaps.RunAsync(upstream, gapTargets, settings);
        }
        if (floor is { } done) { report.RecordProcess(done.Process); await done.Process.DisposeAsync(); done.Target.Dispose(); }

        var gateways = new List<(GatewayProcess Process, IChatTarget Target)> { (ours.Process, oursTarget) };
        gateways.AddRange(peers.Select(p => (p.Process, (IChatTarget)p.Target)));

        Console.WriteLine("(d) active streams against a paced upstream");
        if (settings.Runs('d'))
        {
            upstream.TimeToFirstToken = TimeSpan.FromMilliseconds(300);
            upstream.ChunkGap = TimeSpan.FromMilliseconds(100);
            report.PacedBaseline = await Regimes.PacedBaselineAsync(direct, settings.Quick ? 20 : 50);
            // The direct path under the same load is the baseline: the upstream's timers and the load core are as busy.
            var directActive = await Regimes.ActiveStreamsAsync(null, direct, settings.ActiveStreams, settings.ActiveDuration, null);
            report.Active.Add(directActive);
            foreach (var (process, target) in gateways)
                report.Active.Add(await Regimes.ActiveStreamsAsync(process, target, settings.ActiveStreams, settings.ActiveDuration, directActive));
            upstream.TimeToFirstToken = upstream.ChunkGap = TimeSpan.Zero;
        }

        Console.WriteLine("(b) open-loop constant arrival rate, streamed chats");
        if (settings.Runs('b'))
        {
            report.OpenLoop.Add(await Regimes.OpenLoopAsync(null, direct, settings));
            foreach (var (process, target) in gateways)
                report.OpenLoop.Add(await Regimes.OpenLoopAsync(process, target, settings, report.OpenLoop[0]));
        }
        foreach (var (process, target) in peers) { report.RecordProcess(process); await process.DisposeAsync(); target.Dispose(); }
        Console.WriteLine($"  open descriptors: bench {OpenFiles("self")}, integration-api {OpenFiles(ours.Process.Pid.ToString(System.Globalization.CultureInfo.InvariantCulture))}");

        Console.WriteLine("(c) one persistent stream vs unary vs a stream per chat vs a connection per chat");
        if (settings.Runs('c')) report.Patterns = await Regimes.PatternsAsync(ours, ApiKey, settings);

        Console.WriteLine("(d) idle streams held open");
        if (settings.Runs('d')) report.Idle = await Regimes.IdleStreamsAsync(ours, oursTarget, ApiKey, settings.IdleStreams);

        Console.WriteLine("(f) sustained paced streams (20 chunks a chat, 100 ms apart), stepping up");
        if (settings.Runs('f')) report.Paced = await PacedStreams.RunAsync(upstream, ours, ApiKey, settings);

        Console.WriteLine("(h) hedging against a sometimes-slow primary");
        if (settings.Runs('h') && last) await Hedging.RunAsync(ours, ApiKey, upstream, settings);
        report.RecordProcess(ours.Process);

        report.Elapsed = Stopwatch.GetElapsedTime(started);
        return report;
    }

    /// <summary>Our service, built in Release, as its own process with the production defaults but for the bench's upstream and key.</summary>
    internal static async Task<OursGateway> StartOursAsync(BenchSettings settings, string upstream)
    {
        // BENCH_OURS_DLL: another build of the service (e.g. the commit before a change, for a before/after in one sitting).
        var dll = Environment.GetEnvironmentVariable("BENCH_OURS_DLL") ?? Path.Combine(BenchPaths.RepoRoot, "src", "IntegrationApi", "bin", "Release", "net10.0", "IntegrationApi.dll");
        if (!File.Exists(dll)) throw new FileNotFoundException("build the service in Release first (bench/run.sh does)", dll);
        var (grpcPort, httpPort, openAIPort) = (FreePort(), FreePort(), FreePort());
        var audit = Path.Combine(BenchPaths.Work, "audit.db");
        foreach (var f in Directory.GetFiles(BenchPaths.Work, "audit.db*")) File.Delete(f);
        string[] args =
        [
            dll,
            $"--Kestrel:Endpoints:Grpc:Url=http://127.0.0.1:{grpcPort}",
            $"--Kestrel:Endpoints:Http:Url=http://127.0.0.1:{httpPort}",
            $"--Kestrel:Endpoints:OpenAI:Url=http://127.0.0.1:{openAIPort}",
            $"--Providers:OpenAI:BaseUrl={upstream}",
            $"--Auth:ApiKeys:0:Sha256={CallerAuthenticator.HashKey(ApiKey)}",
            "--Auth:ApiKeys:0:OrganizationId=1",
            "--Auth:ApiKeys:0:ProjectId=1",
            "--Engine:RequestsPerSecondPerStream=0",          // measure the gateway, not its abuse limits
            "--Engine:MaxConcurrentRequestsPerPrincipal=1000000",
            "--Engine:MaxConcurrentRequestsPerStream=4096",
            "--Engine:MaxQueuedRequestsPerStream=100000",
            $"--Audit:SqlitePath={audit}",                   // audit records are written, as in production
            "--Logging:LogLevel:Default=Warning",              // the per-request Information line off, as a busy deployment would run
        ];
        // BENCH_OURS_ARGS / BENCH_OURS_ENV (k=v;k=v): extra settings for trying a change without a rebuild.
        var extraArgs = (Environment.GetEnvironmentVariable("BENCH_OURS_ARGS") ?? "").Split(' ', StringSplitOptions.RemoveEmptyEntries);
        var environment = new Dictionary<string, string> { ["ASPNETCORE_ENVIRONMENT"] = "Production" };
        foreach (var pair in (Environment.GetEnvironmentVariable("BENCH_OURS_ENV") ?? "").Split(';', StringSplitOptions.RemoveEmptyEntries))
            environment[pair[..pair.IndexOf('=')]] = pair[(pair.IndexOf('=') + 1)..];
        // BENCH_OURS_PREFIX: a command to run the gateway under, e.g. "perf record -g -o /tmp/perf.data --" (with
        // BENCH_OURS_ENV=DOTNET_PerfMapEnabled=1); the floor run stops it with SIGINT so the profiler writes its data.
        var prefix = (Environment.GetEnvironmentVariable("BENCH_OURS_PREFIX") ?? "").Split(' ', StringSplitOptions.RemoveEmptyEntries);
        string[] command = [.. prefix, "dotnet", .. args, .. extraArgs];
        var process = GatewayProcess.Start("integration-api", settings.GatewayCpu, command[0], command[1..], Path.GetDirectoryName(dll), // its appsettings.json
            environment: environment);
        using var http = new HttpClient();
        await process.WaitReadyAsync(async () => (await http.GetAsync($"http://127.0.0.1:{httpPort}/healthz")).IsSuccessStatusCode, TimeSpan.FromSeconds(60));
        return new OursGateway(process, $"http://127.0.0.1:{grpcPort}") { OpenAIAddress = $"http://127.0.0.1:{openAIPort}" };
    }

    private static async Task<(GatewayProcess, HttpChatTarget)?> StartPortkeyAsync(BenchSettings settings, string upstream, BenchReport report)
    {
        var dir = settings.PortkeyDir;
        var server = dir is null ? null : Path.Combine(dir, "node_modules", "@portkey-ai", "gateway", "build", "start-server.js");
        if (server is null || !File.Exists(server))
        {
            report.Peers.Add(new PeerStatus("Portkey", false, "not run: @portkey-ai/gateway is not installed (bench/run.sh installs it with npm)"));
            return null;
        }
        var version = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(dir!, "node_modules", "@portkey-ai", "gateway", "package.json")))
            .RootElement.GetProperty("version").GetString();
        var shim = Path.Combine(BenchPaths.Bench, "peers", "node-fetch-mutable-headers.mjs");
        var port = FreePort();
        var process = GatewayProcess.Start("portkey", settings.GatewayCpu, "node", ["--import", shim, server, "--headless", $"--port={port}"], dir,
            new Dictionary<string, string> { ["NODE_ENV"] = "production" });
        using var http = new HttpClient();
        await process.WaitReadyAsync(async () => (await http.GetAsync($"http://127.0.0.1:{port}/")).IsSuccessStatusCode, TimeSpan.FromSeconds(60));
        var nodeVersion = (await RunAsync("node", "--version")).Trim();
        report.Peers.Add(new PeerStatus("Portkey", true,
            $"@portkey-ai/gateway {version} on Node {nodeVersion}, `--headless`, provider openai with x-portkey-custom-host; started with `--import bench/peers/node-fetch-mutable-headers.mjs` (why: docs/decisions.md, Benchmarks; without it every streamed chat fails with TypeError: immutable)"));
        return (process, new HttpChatTarget($"portkey {version}", $"http://127.0.0.1:{port}/v1/chat/completions",
            ("x-portkey-provider", "openai"), ("x-portkey-custom-host", upstream), ("authorization", "Bearer " + BenchUpstream.Key)));
    }

    private static async Task<string> RunAsync(string program, string args)
    {
        using var p = Process.Start(new ProcessStartInfo(program, args) { RedirectStandardOutput = true })!;
        var output = await p.StandardOutput.ReadToEndAsync();
        await p.WaitForExitAsync();
        return output;
    }

    private static int OpenFiles(string pid)
    {
        try { return Directory.GetFiles($"/proc/{pid}/fd").Length; } catch (IOException) { return -1; } catch (UnauthorizedAccessException) { return -1; }
    }

    internal static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

/// <summary>Our service's process and its gRPC address.</summary>
internal sealed class OursGateway(GatewayProcess process, string address) : IAsyncDisposable
{
    public GatewayProcess Process { get; } = process;
    public string Address { get; } = address;
    /// <summary>The OpenAI-compatible HTTP listener (base address, no path).</summary>
    public string OpenAIAddress { get; init; } = "";
    public ValueTask DisposeAsync() => Process.DisposeAsync();
}
