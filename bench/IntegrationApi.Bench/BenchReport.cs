using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using ScottPlot;

namespace IntegrationApi.Bench;

internal sealed record PeerStatus(string Name, bool Ran, string Detail);

internal sealed record ProcessUsage(string Name, double CpuSeconds, long PeakRssKb);

/// <summary>Everything one run measured; written as bench/results.json, bench/RESULTS.md and bench/*.png.</summary>
internal sealed class BenchReport(BenchSettings settings)
{
    public string Date { get; } = DateTime.UtcNow.ToString("yyyy-MM-dd HH:mm 'UTC'", CultureInfo.InvariantCulture);
    public string Mode { get; } = settings.Quick ? "quick" : "full";
    public string Machine { get; } = MachineLine(settings);

    public static string MachineLine(BenchSettings settings) => $"{File.ReadLines("/proc/cpuinfo").Count(l => l.StartsWith("processor", StringComparison.Ordinal))} cores ({CpuModel()}), Linux {Environment.OSVersion.Version}, .NET {Environment.Version}; gateway on cpu {settings.GatewayCpu}, load generator + upstream on cpu {settings.LoadCpu}";

    private static string CpuModel() =>
        File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? "unknown cpu";
    public List<PeerStatus> Peers { get; } = [];
    public List<SequentialRow> Sequential { get; set; } = [];
    public (Dist Ttft, Dist Total) PacedBaseline { get; set; }
    public List<ActiveResult> Active { get; } = [];
    public List<OpenLoopResult> OpenLoop { get; } = [];
    public List<PatternRow> Patterns { get; set; } = [];
    public IdleResult? Idle { get; set; }
    public List<ProcessUsage> Processes { get; } = [];
    public TimeSpan Elapsed { get; set; }
    /// <summary>(a) Each gateway process's CPU time per chat, one chat in flight.</summary>
    public List<CpuRow> SequentialCpu { get; set; } = [];
    public ChunkGapResult? ChunkGaps { get; set; }
    public PacedResult? Paced { get; set; }
    /// <summary>This run's headline figures (issue 19's targets and the older ones).</summary>
    public List<HeadlineFigure> Headline => Headlines.Of(this);
    /// <summary>With <c>--repeat N</c>: every headline figure's median and min–max over the runs (this report is the last run's).</summary>
    public List<HeadlineSpread>? Spread { get; set; }

    public string ToJson() => JsonSerializer.Serialize(this, Json);

    public void RecordProcess(GatewayProcess process) => Processes.Add(new ProcessUsage(process.Name, process.CpuSeconds(), process.PeakRssKb()));

    public void PrintSequential()
    {
        foreach (var r in Sequential)
            Console.WriteLine($"  {r.Target,-28} {r.Mode,-6} end p50 {Format.Us(r.Total.P50),7} p99 {Format.Us(r.Total.P99),7} us" +
                (r.Ttft is { } t ? $"  ttft p50 {Format.Us(t.P50),7} p99 {Format.Us(t.P99),7} us" : "") +
                $"  added end p50 {Format.Us(r.AddedTotal!.P50)} us" + (r.Failures > 0 ? $"  FAILED {r.Failures}" : ""));
    }

    private static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        IncludeFields = true,
    };

    public async Task WriteAsync()
    {
        var dir = BenchPaths.Bench;
        var prefix = settings.Quick ? "quick-" : "";
        await File.WriteAllTextAsync(Path.Combine(dir, prefix + "results.json"), ToJson());
        var plots = Plot(dir, prefix);
        var md = Markdown(plots);
        await File.WriteAllTextAsync(Path.Combine(dir, prefix + "RESULTS.md"), md);
        Console.WriteLine($"wrote bench/{prefix}RESULTS.md, bench/{prefix}results.json and {plots.Count} plots in {Elapsed.TotalMinutes:0.0} min");
    }

    private SequentialRow? Row(string targetPrefix, string mode) => Sequential.FirstOrDefault(r => r.Target.StartsWith(targetPrefix, StringComparison.Ordinal) && r.Mode == mode);

    private string Markdown(List<string> plots)
    {
        var md = new StringBuilder();
        var micro = Path.Combine(BenchPaths.Bench, "results", settings.Quick ? "quick-microbench.md" : "microbench.md");
        var optimisation = Path.Combine(BenchPaths.Bench, "results", "optimisation.md");
        md.AppendLine("# Benchmarks: added latency, throughput, streams and memory");
        md.AppendLine();
        var command = "bench/run.sh" + (settings.Quick ? " --quick" : "") + (Spread is null ? "" : $" --repeat {settings.Repeat}");
        md.AppendLine($"Run `{command}` ({Mode} mode) on {Date}, {Machine}; took {Elapsed.TotalMinutes:0.0} min.");
        md.AppendLine("Every gateway is a separate process pinned with `taskset` to the gateway core; the load generator and the upstream share the other core.");
        md.AppendLine("The upstream is a zero-latency OpenAI Chat Completions server answering from bytes recorded from the tested fake (8 content chunks + usage + `[DONE]`);");
        md.AppendLine("its direct path, driven by the same load generator, is the baseline every *added* figure subtracts (percentile by percentile). Regimes (d), (e) and (f) pace the same upstream (first token and chunks on timers, longer answers in e and f; see their sections).");
        md.AppendLine("HAProxy, where it ran, is the floor: a plain HTTP/1.1 reverse proxy on the gateway core in front of the same upstream, no translation.");
        md.AppendLine("Latency is measured from when a chat was due, by the caller: *end* = last byte of the answer, *ttft* = first content delta.");
        md.AppendLine();
        md.AppendLine("## Headline");
        md.AppendLine();
        HeadlineTable(md);
        md.AppendLine();
        md.AppendLine("## Gateways");
        md.AppendLine();
        foreach (var p in Peers) md.AppendLine($"- **{p.Name}**: {(p.Ran ? "ran" : "")} {p.Detail}");
        md.AppendLine("- **integration-api**: this repository's service, Release build, production defaults except: no per-stream rate limit, the per-request Information log line off (Warning level), audit records written to SQLite as usual.");
        md.AppendLine();
        md.AppendLine("Portkey note: its streaming path waits 25 ms (`setTimeout(…, 25)`) before forwarding the first chunk of every streamed answer");
        md.AppendLine("(read in `build/start-server.js` of the published package); that wait is part of what its users get, so it is in its numbers.");
        md.AppendLine();
        md.AppendLine("## (a) Sequential: one chat in flight, interleaved rounds");
        md.AppendLine();
        md.AppendLine("| target | mode | n | end p50 µs | end p90 | end p99 | ttft p50 µs | ttft p90 | ttft p99 | added end p50 / p90 / p99 µs | added ttft p50 / p90 / p99 µs | failures |");
        md.AppendLine("|---|---|---|---|---|---|---|---|---|---|---|---|");
        foreach (var r in Sequential)
        {
            var t = r.Ttft;
            var a = r.AddedTotal!;
            var at = r.AddedTtft;
            md.AppendLine($"| {r.Target} | {(r.Mode == "chat" ? "non-streamed" : "streamed")} | {r.Total.N} | {Format.Us(r.Total.P50)} | {Format.Us(r.Total.P90)} | {Format.Us(r.Total.P99)} | " +
                $"{(t is null ? "" : Format.Us(t.P50))} | {(t is null ? "" : Format.Us(t.P90))} | {(t is null ? "" : Format.Us(t.P99))} | " +
                $"{Format.Us(a.P50)} / {Format.Us(a.P90)} / {Format.Us(a.P99)} | {(at is null ? "" : $"{Format.Us(at.P50)} / {Format.Us(at.P90)} / {Format.Us(at.P99)}")} | {r.Failures} |");
        }
        md.AppendLine();
        md.AppendLine("Our non-streamed chat is unary `Chat`; our streamed chat is one persistent `StreamChat` with untagged requests. The peer's are `stream:false` / `stream:true` on `/v1/chat/completions`.");
        md.AppendLine();
        if (SequentialCpu.Count > 0)
        {
            md.AppendLine("CPU per chat, one chat in flight: each gateway process alone for a fixed time per mode (after the rounds above), its user + system time divided by its chats.");
            md.AppendLine("HAProxy (the floor) forwards bytes: no translation, auth or audit; ours includes its background work (audit flushes, timers).");
            md.AppendLine();
            md.AppendLine("| gateway | mode | chats | gateway CPU µs/chat | vs HAProxy |");
            md.AppendLine("|---|---|---|---|---|");
            foreach (var c in SequentialCpu)
            {
                var floor = SequentialCpu.FirstOrDefault(h => h.Mode == c.Mode && h.Target.StartsWith("haproxy", StringComparison.Ordinal));
                md.AppendLine($"| {c.Target} | {(c.Mode == "chat" ? "non-streamed" : "streamed")} | {c.Chats} | {c.CpuUsPerChat:0.0} | {(floor is { CpuUsPerChat: > 0 } ? $"{c.CpuUsPerChat / floor.CpuUsPerChat:0.0}×" : "–")} |");
            }
            md.AppendLine();
        }
        foreach (var p in plots.Where(p => p.Contains("latency", StringComparison.Ordinal))) md.AppendLine($"![{p}]({p})");
        md.AppendLine();
        md.AppendLine("## (b) Open loop: constant arrival rate of streamed chats, stepping up");
        md.AppendLine();
        md.AppendLine($"Each step offers its rate for {settings.StepDuration.TotalSeconds:0} s (arrivals on schedule whether or not earlier chats finished); a step is sustained when ≥ 99 % succeed and ≥ 90 % of the rate is achieved; stepping stops at the first step that is not.");
        md.AppendLine("Chats are started by a dedicated scheduler thread; *start late* is how late it started them (counted in every latency, since latency runs from when a chat was due).");
        md.AppendLine("*Added p99* = the gateway's end-of-stream p99 minus the direct path's at the same rate; where the direct path itself was not sustained at that rate (its client and the upstream share the load core), the gateway's own p99 is given as an upper bound (≤). Our chats are multiplexed over 4 persistent streams by `IntegrationClient`; the peer's are HTTP/1.1 requests on a pool of keep-alive connections.");
        md.AppendLine();
        md.AppendLine("| target | offered /s | achieved /s | success | ttft p50 µs | ttft p99 | end p50 µs | end p99 | added p99 µs | gateway CPU | load core CPU | start late p99 µs |");
        md.AppendLine("|---|---|---|---|---|---|---|---|---|---|---|---|");
        foreach (var o in OpenLoop)
            foreach (var s in o.Steps)
                md.AppendLine($"| {o.Target} | {s.Rate} | {s.Achieved:0} | {s.SuccessRatio:P1} | {Format.Us(s.Ttft.P50)} | {Format.Us(s.Ttft.P99)} | {Format.Us(s.Total.P50)} | {Format.Us(s.Total.P99)} | {(s.AddedIsUpperBound ? "≤ " : "")}{(s.AddedP99Us is { } a ? Format.Us(a) : "–")} | {(s.GatewayCpu == 0 ? "–" : s.GatewayCpu.ToString("P0", CultureInfo.InvariantCulture))} | {s.LoadCpu.ToString("P0", CultureInfo.InvariantCulture)} | {Format.Us(s.StartLateness.P99)} |");
        md.AppendLine();
        foreach (var o in OpenLoop.Skip(1))
        {
            var broke = o.Steps.FirstOrDefault(s => !s.Sustained || s.AddedP99Us is not < 5000);
            var why = broke is null ? "every offered rate held" :
                $"at {broke.Rate}/s the gateway used {broke.GatewayCpu:P0} of its core and the load generator + upstream {broke.LoadCpu:P0} of theirs" +
                (broke.LoadCpu > 0.9 && broke.GatewayCpu < 0.9 ? " (the load core, not the gateway, was the limit)" : "");
            var missed = o.Steps.Where(s => s.Sustained && s.Rate < (o.MaxRateUnder5Ms ?? 0) && s.AddedP99Us is not < 5000).Select(s => s.Rate.ToString(CultureInfo.InvariantCulture)).ToList();
            md.AppendLine($"- {o.Target}: highest sustained rate {o.MaxSustainedRate?.ToString(CultureInfo.InvariantCulture) ?? "none"} /s; highest with p99 added latency under 5 ms: {o.MaxRateUnder5Ms?.ToString(CultureInfo.InvariantCulture) ?? "none"} /s" +
                (missed.Count > 0 ? $" (lower steps that missed 5 ms at p99: {string.Join(", ", missed)} /s — single pauses of several ms, e.g. garbage collections, decide a 5 s step's p99)" : "") + $"; {why}.");
        }
        md.AppendLine();
        foreach (var p in plots.Where(p => p.Contains("throughput", StringComparison.Ordinal))) md.AppendLine($"![{p}]({p})");
        md.AppendLine();
        md.AppendLine("## (c) One persistent stream vs unary vs a stream per chat vs a connection per chat (integration-api)");
        md.AppendLine();
        md.AppendLine($"The same streamed chat, {settings.PatternConcurrency} at a time (a connection per chat runs fewer: each leaves sockets in TIME_WAIT). Gateway CPU per chat is the gateway process's user+system time divided by chats: the efficiency claim.");
        md.AppendLine();
        md.AppendLine("| pattern | chats | chats/s | end p50 µs | end p99 | gateway CPU µs/chat | vs persistent stream | failures |");
        md.AppendLine("|---|---|---|---|---|---|---|---|");
        var basis = Patterns.FirstOrDefault();
        foreach (var p in Patterns)
            md.AppendLine($"| {p.Pattern} | {p.Chats} | {p.ChatsPerSecond:0} | {Format.Us(p.Total.P50)} | {Format.Us(p.Total.P99)} | {p.GatewayCpuUsPerChat:0} | {(basis is null ? "" : $"{p.GatewayCpuUsPerChat / basis.GatewayCpuUsPerChat:0.00}× CPU, {basis.ChatsPerSecond / p.ChatsPerSecond:0.00}× time")} | {p.Failures} |");
        md.AppendLine();
        md.AppendLine("## (d) Many streams: active and idle");
        md.AppendLine();
        md.AppendLine($"Active: N streams (our `StreamChat` calls; the peer's keep-alive HTTP connections), each running streamed chats back to back for {settings.ActiveDuration.TotalSeconds:0} s against an upstream that waits 300 ms before the first chunk and 100 ms between chunks.");
        if (PacedBaseline.Ttft is not null) md.AppendLine($"Direct path on that upstream, one chat at a time: ttft p50 {Format.Us(PacedBaseline.Ttft.P50)} µs, p99 {Format.Us(PacedBaseline.Ttft.P99)} µs. *ttft overhead* subtracts the direct path driven with the same number of concurrent chats (first row), so the upstream's timers and the load core are equally busy.");
        md.AppendLine();
        md.AppendLine("| target | active streams | chats | failures | ttft p50 µs | ttft p99 | ttft overhead p50 / p99 µs | gateway CPU | load core CPU | RSS before → during MB | KB per active stream |");
        md.AppendLine("|---|---|---|---|---|---|---|---|---|---|---|");
        foreach (var a in Active)
        {
            var gateway = a.GatewayCpu > 0;
            md.AppendLine($"| {a.Target} | {a.Streams} | {a.Chats} | {a.Failures} | {Format.Us(a.Ttft.P50)} | {Format.Us(a.Ttft.P99)} | {(gateway ? $"{Format.Us(a.TtftOverhead.P50)} / {Format.Us(a.TtftOverhead.P99)}" : "(baseline)")} | {(gateway ? a.GatewayCpu.ToString("P0", CultureInfo.InvariantCulture) : "–")} | {a.LoadCpu.ToString("P0", CultureInfo.InvariantCulture)} | {(gateway ? $"{a.RssBeforeKb / 1024.0:0} → {a.RssDuringKb / 1024.0:0}" : "–")} | {(gateway ? a.KbPerActiveStream.ToString("0.0", CultureInfo.InvariantCulture) : "–")} |");
        }
        md.AppendLine();
        md.AppendLine("The upstream's timers run on the load core; a gateway whose client is heavier there (our gRPC client reads every delta as a message) delays the upstream's own timers a little, and that lands in its overhead figure too.");
        md.AppendLine();
        if (Idle is { } idle)
        {
            md.AppendLine($"Idle (integration-api): {idle.Streams} `StreamChat` calls opened ({idle.OpenSeconds:0.0} s), each used for one chat and left open; {idle.Failures} failures.");
            md.AppendLine($"Gateway RSS {idle.RssBeforeKb / 1024.0:0} → {idle.RssAfterKb / 1024.0:0} MB: **{idle.BytesPerIdleStream / 1024:0.0} KB per idle stream**.");
            md.AppendLine($"TTFT of chats on another stream (zero-latency upstream): p50 {Format.Us(idle.TtftBefore.P50)} → {Format.Us(idle.TtftWithIdle.P50)} µs, p99 {Format.Us(idle.TtftBefore.P99)} → {Format.Us(idle.TtftWithIdle.P99)} µs with the idle streams open.");
            md.AppendLine("The peer has no stream to hold open (one HTTP request per chat), so it has no idle row.");
        }
        md.AppendLine();
        ChunkGapSection(md, plots);
        PacedSection(md, plots);
        md.AppendLine("## Processes");
        md.AppendLine();
        md.AppendLine("| gateway | CPU seconds over the run | peak RSS MB |");
        md.AppendLine("|---|---|---|");
        foreach (var p in Processes) md.AppendLine($"| {p.Name} | {p.CpuSeconds:0.0} | {p.PeakRssKb / 1024.0:0} |");
        md.AppendLine();
        if (File.Exists(micro)) { md.AppendLine(File.ReadAllText(micro).Replace("\n# ", "\n## ", StringComparison.Ordinal).TrimStart('#').Insert(0, "##")); md.AppendLine(); }
        if (File.Exists(optimisation)) { md.AppendLine(File.ReadAllText(optimisation).TrimStart('#').Insert(0, "##")); md.AppendLine(); }
        return md.ToString();
    }

    /// <summary>
    /// The targets, each with its figure and met or not. One run: the figure and what it came from. Repeated runs: the
    /// median and min–max over the runs, met judged on the median, and in how many runs it was met.
    /// </summary>
    private void HeadlineTable(StringBuilder md)
    {
        static string MetText(bool? met) => met switch { true => "met", false => "**not met**", null => "–" };
        if (Spread is { } spread)
        {
            var runs = spread.Count == 0 ? 0 : spread.Max(x => x.Runs);
            md.AppendLine($"Median (min–max) over {runs} runs of the whole comparison, each with fresh processes (every run: bench/results/{(settings.Quick ? "runs-quick" : "runs")}/run-K.json); the tables below are the last run's.");
            md.AppendLine();
            md.AppendLine($"| target | median (min–max over {runs} runs) | met (median) | runs meeting it | last run |");
            md.AppendLine("|---|---|---|---|---|");
            foreach (var f in spread)
                md.AppendLine($"| {f.Target} | {Headlines.Show(f.Median, f.Unit)} ({Headlines.Show(f.Min, f.Unit)} – {Headlines.Show(f.Max, f.Unit)}) | {MetText(f.Met)} | {(f.Limit is null ? "–" : $"{f.RunsMet} of {f.Runs}")} | {f.LastDetail} |");
            return;
        }
        md.AppendLine("| target | measured | met |");
        md.AppendLine("|---|---|---|");
        foreach (var f in Headline)
            md.AppendLine($"| {f.Target} | {Headlines.Show(f.Value, f.Unit)} ({f.Detail}) | {MetText(f.Met)} |");
        md.AppendLine();
        md.AppendLine("One run; `bench/run.sh --repeat N` runs the comparison N times and gives each figure's median and spread.");
    }

    private void ChunkGapSection(StringBuilder md, List<string> plots)
    {
        if (ChunkGaps is not { } g) return;
        md.AppendLine("## (e) Per-chunk cost: gaps between content deltas");
        md.AppendLine();
        md.AppendLine($"The upstream sends {g.Chunks} content chunks per chat, {g.GapMs:0} ms apart (first one after {g.FirstTokenMs:0} ms). Each target runs {g.SequentialChats} chats one at a time, then {g.ConcurrentChats} chats {g.Concurrency} at a time");
        md.AppendLine("(ours: a persistent `StreamChat` per worker; HTTP targets: keep-alive connections). The caller stamps each content delta as it is parsed; a *gap* is the time between two consecutive deltas of one chat.");
        md.AppendLine("The upstream's timer jitter is in every path alike; *added gap* = the target's gap percentile minus the direct path's. Targets take turns chat by chat (then batch by batch).");
        md.AppendLine("*Transit*: each chunk carries the upstream's send time (same process, same clock), so the caller times every chunk's way through the path; *added transit* (minus the direct path's, percentile by percentile)");
        md.AppendLine("is the per-chunk latency a hop adds, without the upstream's timer jitter. With chunks 20 ms apart every chunk finds the gateway idle: transit includes waking it (and, on a shared machine, waiting for its core).");
        md.AppendLine();
        md.AppendLine("| target | chats | gaps | gap p50 µs | p90 | p99 | max | added gap p50 µs | added gap p99 µs | transit p50 µs | transit p99 | added transit p50 / p99 µs | failures |");
        md.AppendLine("|---|---|---|---|---|---|---|---|---|---|---|---|---|");
        foreach (var r in g.Rows)
            md.AppendLine($"| {r.Target} | {r.Chats} | {r.GapsUs.N} | {Format.Us(r.GapsUs.P50)} | {Format.Us(r.GapsUs.P90)} | {Format.Us(r.GapsUs.P99)} | {Format.Us(r.GapsUs.Max)} | " +
                $"{(r.AddedUs is { } a ? Format.Us(a.P50) : "(baseline)")} | {(r.AddedUs is { } b ? Format.Us(b.P99) : "")} | {Format.Us(r.TransitUs.P50)} | {Format.Us(r.TransitUs.P99)} | " +
                $"{(r.AddedTransitUs is { } t ? $"{Format.Us(t.P50)} / {Format.Us(t.P99)}" : "(baseline)")} | {r.Failures + r.Incomplete} |");
        md.AppendLine();
        foreach (var p in plots.Where(p => p.Contains("gaps", StringComparison.Ordinal))) md.AppendLine($"![{p}]({p})");
        md.AppendLine();
    }

    private void PacedSection(StringBuilder md, List<string> plots)
    {
        if (Paced is not { } f) return;
        md.AppendLine("## (f) Sustained paced streams");
        md.AppendLine();
        md.AppendLine($"N streams at once, each running streamed chats back to back against an upstream that sends {f.Chunks} content chunks a chat, one every {f.GapMs:0} ms (the first after {f.FirstTokenMs:0} ms):");
        md.AppendLine($"~{f.Chunks * f.GapMs / 1000:0.0} s a chat, {1000 / f.GapMs:0} frames a second per stream, so N streams are {1000 / f.GapMs:0}×N frames a second through the gateway. Ours: N persistent `StreamChat` calls (the gateway opens one upstream HTTP/1.1 connection per chat in flight);");
        md.AppendLine($"the direct path: N keep-alive HTTP/SSE connections to the upstream. Streams start spread over a ramp of up to 2 s; each step then lasts {f.StepSeconds:0} s, and the chats in flight at its end are let finish.");
        md.AppendLine($"**Gate**: every frame of every finished chat arrives, no stream sees two consecutive frames more than {10 * f.GapMs:0} ms (10× the pacing) apart, under 0.1 % of chats fail. Stepping stops at the first step that fails.");
        md.AppendLine("CPU is measured over the step after the ramp; *load core* is the bench process (load generator + upstream), which shares its core: where it is near 100 %, the load side, not the gateway, is the limit.");
        md.AppendLine();
        md.AppendLine("*Pace kept*: frames delivered per second in the window ÷ what the pacing offers (one frame per stream every pacing interval, the first-token wait included); a little under 100 % is the time between one chat's end and the next one's request; well under it, the path ran late even where no gap broke the gate (not part of the gate).");
        md.AppendLine();
        md.AppendLine("| target | streams | chats | frames expected | frames received | max gap ms | streams over the gap limit | pace kept | failed chats | gateway CPU | load core CPU | gateway RSS MB | gate |");
        md.AppendLine("|---|---|---|---|---|---|---|---|---|---|---|---|---|");
        foreach (var s in f.Steps)
            md.AppendLine($"| {s.Target} | {s.Streams} | {s.Chats} | {s.FramesExpected} | {s.FramesReceived} | {s.MaxGapMs:0.0} | {s.StreamsOverGap} | {s.PaceKept.ToString("P0", CultureInfo.InvariantCulture)} | {s.FailedChats} | " +
                $"{(s.GatewayCpu == 0 ? "–" : s.GatewayCpu.ToString("P0", CultureInfo.InvariantCulture))} | {s.LoadCpu.ToString("P0", CultureInfo.InvariantCulture)} | {(s.RssKb == 0 ? "–" : (s.RssKb / 1024.0).ToString("0", CultureInfo.InvariantCulture))} | {(s.Passed ? "pass" : "fail: " + s.Why)} |");
        md.AppendLine();
        foreach (var target in f.Steps.Select(s => s.Target).Distinct())
        {
            var failed = f.Steps.FirstOrDefault(s => s.Target == target && !s.Passed);
            // Which side gave out: a core near full is the limit; the direct path at the same N tells whether the load side could drive it at all.
            var direct = failed is null ? null : f.Steps.FirstOrDefault(s => s.Target != target && s.GatewayCpu == 0 && s.Streams == failed.Streams);
            var side = failed is null ? "" : failed.GatewayCpu >= 0.9 ? "the gateway core was full" : failed.LoadCpu >= 0.9 ? "the load core was full" : "neither core was full";
            md.AppendLine($"- {target}: highest passing step **{f.HighestPassing(target)?.ToString(CultureInfo.InvariantCulture) ?? "none"}** streams (steps offered: {string.Join(", ", f.Offered)})" +
                (failed is null ? "." : $"; at {failed.Streams} {side} (gateway {(failed.GatewayCpu == 0 ? "–" : failed.GatewayCpu.ToString("P0", CultureInfo.InvariantCulture))}, load {failed.LoadCpu.ToString("P0", CultureInfo.InvariantCulture)})" +
                    (failed.GatewayCpu == 0 ? "." : direct is null ? "; the direct path did not run that step." : $"; the direct path at that step: {(direct.Passed ? "passed" : "failed too")}, load core {direct.LoadCpu.ToString("P0", CultureInfo.InvariantCulture)}.")));
        }
        foreach (var note in f.Notes) md.AppendLine($"- {note}.");
        md.AppendLine();
        foreach (var p in plots.Where(p => p.Contains("paced", StringComparison.Ordinal))) md.AppendLine($"![{p}]({p})");
        md.AppendLine();
    }

    /// <summary>The left axis shows 10^y: values were plotted as log10 so that µs and seconds fit one picture.</summary>
    private static void LogScale(Plot plot)
    {
        plot.Axes.Left.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic
        {
            MinorTickGenerator = new ScottPlot.TickGenerators.LogMinorTickGenerator(),
            IntegerTicksOnly = true,
            LabelFormatter = y => Math.Pow(10, y).ToString("N0", CultureInfo.InvariantCulture),
        };
    }

    private List<string> Plot(string dir, string prefix)
    {
        var files = new List<string>();
        var percentiles = Enumerable.Range(1, 99).Select(i => (double)i).ToArray();
        static double Log(double us) => Math.Log10(Math.Max(1, us)); // plotted as log10, labelled as µs (LogScale)
        try
        {
            foreach (var (mode, title) in new[] { ("chat", "non-streamed chat: end-to-end latency"), ("stream", "streamed chat: time to first token") })
            {
                var series = Sequential.Where(r => r.Mode == mode)
                    .Select(r => (r.Target, Samples: mode == "stream" ? r.TtftSamples : r.TotalSamples))
                    .Where(r => r.Samples.Length > 0)
                    .Select(r => (r.Target, percentiles, percentiles.Select(p => Log(Dist.Pct(r.Samples, p / 100.0))).ToArray()));
                files.Add(SaveLines(dir, $"{prefix}latency-{mode}.png", $"(a) sequential {title}", "percentile", "latency (µs, log scale)", series, logScale: true, markers: false));
            }
            foreach (var (metric, title) in new[] { ("p99", "end-of-stream p99 (µs, log scale)"), ("achieved", "achieved chats/s") })
            {
                var series = OpenLoop.Where(o => o.Steps.Count > 0).Select(o => (o.Target,
                    o.Steps.Select(s => (double)s.Rate).ToArray(),
                    o.Steps.Select(s => metric == "p99" ? Log(s.Total.P99) : s.Achieved).ToArray()));
                files.Add(SaveLines(dir, $"{prefix}throughput-{metric}.png", $"(b) open loop: {title} vs offered rate", "offered streamed chats per second", title, series,
                    logScale: metric == "p99", markers: true));
            }
            if (ChunkGaps is { } g)
            {
                // The gaps' distribution (x: gap, y: share of gaps at most that long), direct and through each hop.
                var series = g.Rows.Where(r => r.Samples.Length > 0).Select(r => (r.Target,
                    percentiles.Select(p => Dist.Pct(r.Samples, p / 100.0) / 1000).Append(r.Samples[^1] / 1000).ToArray(),
                    percentiles.Append(100.0).ToArray()));
                files.Add(SaveLines(dir, $"{prefix}gaps-cdf.png", $"(e) gaps between content deltas ({g.Chunks} chunks, {g.GapMs:0} ms apart): cumulative distribution",
                    "gap between consecutive deltas (ms)", "percent of gaps at most this long", series, logScale: false, markers: false));
            }
            if (Paced is { } f && f.Steps.Count > 0)
            {
                var byTarget = f.Steps.GroupBy(s => s.Target).ToList();
                files.Add(SaveLines(dir, $"{prefix}paced-maxgap.png", $"(f) paced streams: longest gap between frames (gate: {10 * f.GapMs:0} ms)", "concurrent streams", "max gap between frames (ms)",
                    byTarget.Select(t => (t.Key, t.Select(s => (double)s.Streams).ToArray(), t.Select(s => s.MaxGapMs).ToArray())), logScale: false, markers: true));
                var cpu = byTarget.Where(t => t.Any(s => s.GatewayCpu > 0)).Select(t => ($"{t.Key}: gateway core", t.Select(s => (double)s.Streams).ToArray(), t.Select(s => s.GatewayCpu * 100).ToArray()))
                    .Concat(byTarget.Select(t => ($"{t.Key}: load core", t.Select(s => (double)s.Streams).ToArray(), t.Select(s => s.LoadCpu * 100).ToArray())));
                files.Add(SaveLines(dir, $"{prefix}paced-cpu.png", "(f) paced streams: CPU of the gateway core and of the load core", "concurrent streams", "CPU (% of one core)",
                    cpu, logScale: false, markers: true));
            }
        }
        catch (Exception ex) when (ex is TypeInitializationException or DllNotFoundException)
        {
            Console.Error.WriteLine($"plots skipped: {ex.Message}");
        }
        return files;
    }

    /// <summary>One line per series, legend lower right, 900x500 PNG; returns the file name.</summary>
    internal static string SaveLines(string dir, string name, string title, string xLabel, string yLabel,
        IEnumerable<(string Label, double[] Xs, double[] Ys)> series, bool logScale, bool markers)
    {
        var plot = new Plot();
        foreach (var (label, xs, ys) in series)
        {
            var line = plot.Add.Scatter(xs, ys);
            line.LegendText = label;
            line.LineWidth = 2;
            line.MarkerSize = markers ? 6 : 0;
        }
        plot.Title(title);
        plot.XLabel(xLabel);
        plot.YLabel(yLabel);
        if (logScale) LogScale(plot);
        plot.ShowLegend(Alignment.LowerRight);
        plot.SavePng(Path.Combine(dir, name), 900, 500);
        return name;
    }
}
