using System.Globalization;

namespace IntegrationApi.Bench;

/// <summary>
/// One headline figure of one run: a single number (so that repeated runs can give its median and spread), the target it
/// is held to (none for the figures that only compare) and what it was computed from.
/// </summary>
internal sealed record HeadlineFigure(string Key, string Target, double Value, string Unit, double? Limit, bool AtLeast, string Detail)
{
    public bool? Met => Headlines.Meets(Value, Limit, AtLeast);
}

/// <summary>One headline figure over repeated runs (<c>--repeat N</c>): median, min and max, and in how many runs it met its target.</summary>
internal sealed record HeadlineSpread(string Key, string Target, string Unit, double? Limit, bool AtLeast, double Median, double Min, double Max, int Runs, int RunsMet, string LastDetail)
{
    /// <summary>Met by the median run's figure.</summary>
    public bool? Met => Headlines.Meets(Median, Limit, AtLeast);

    public static List<HeadlineSpread> Of(List<List<HeadlineFigure>> runs)
    {
        var spread = new List<HeadlineSpread>();
        foreach (var last in runs[^1])
        {
            var values = runs.Select(r => r.FirstOrDefault(f => f.Key == last.Key)).Where(f => f is not null && !double.IsNaN(f.Value)).Select(f => f!).ToList();
            if (values.Count == 0) continue;
            var sorted = values.Select(f => f.Value).Order().ToArray();
            var median = sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
            spread.Add(new HeadlineSpread(last.Key, last.Target, last.Unit, last.Limit, last.AtLeast, median, sorted[0], sorted[^1], values.Count,
                values.Count(f => f.Met == true), last.Detail));
        }
        return spread;
    }
}

/// <summary>
/// The targets of issue 19 and the older ones still measured, computed from one run's report. Latency "added" is
/// always the gateway's percentile minus the direct path's (regime a, e), ratios are plain divisions of two figures
/// of the same run.
/// </summary>
internal static class Headlines
{
    public static bool? Meets(double value, double? limit, bool atLeast) =>
        limit is not { } l || double.IsNaN(value) ? null : atLeast ? value >= l : value <= l;

    public static string Show(double value, string unit) => double.IsNaN(value) ? "n/a" : unit switch
    {
        "µs" => $"{Format.Us(value)} µs",
        "×" => $"{value.ToString(value >= 10 ? "0" : "0.0", CultureInfo.InvariantCulture)}×",
        "KB" => $"{value.ToString("0.0", CultureInfo.InvariantCulture)} KB",
        _ => $"{value.ToString("N0", CultureInfo.InvariantCulture)} {unit}",
    };

    public static List<HeadlineFigure> Of(BenchReport r)
    {
        var list = new List<HeadlineFigure>();
        void Add(string key, string target, double value, string unit, double? limit, bool atLeast, string detail) =>
            list.Add(new HeadlineFigure(key, target, value, unit, limit, atLeast, detail));
        static double Floor1(double us) => Math.Max(1, us); // a ratio's divisor: a sub-µs (or noisy negative) figure counts as 1 µs

        var direct = r.Sequential.FirstOrDefault(x => x.Mode == "stream");
        var oChat = r.Sequential.FirstOrDefault(x => x.Target == "integration-api" && x.Mode == "chat");
        var oStream = r.Sequential.FirstOrDefault(x => x.Target == "integration-api" && x.Mode == "stream");
        if (direct is not null && oStream is not null)
        {
            Add("seq-stream-p99-vs-direct", "sequential streamed chat: added p99 ≤ 3× the direct call's p99", oStream.AddedTotal!.P99 / direct.Total.P99, "×", 3, false,
                $"added end p99 {Format.Us(oStream.AddedTotal.P99)} µs, direct end p99 {Format.Us(direct.Total.P99)} µs");
            Add("seq-stream-p50", "sequential streamed chat: added p50 ≤ 80 µs", oStream.AddedTotal.P50, "µs", 80, false,
                $"end p50 {Format.Us(oStream.Total.P50)} µs vs direct {Format.Us(direct.Total.P50)} µs");
            Add("ttft-p99", "added time to first token p99 ≤ 150 µs", oStream.AddedTtft!.P99, "µs", 150, false,
                $"p50 {Format.Us(oStream.AddedTtft.P50)} µs; sequential, one persistent stream");
        }
        if (r.ChunkGaps is { } gaps && gaps.Rows.FirstOrDefault(x => x.Target == "integration-api") is { AddedUs: { } added } g)
        {
            var d = gaps.Rows[0].GapsUs;
            Add("gap-p50", "per-chunk added gap p50 ≤ 5 µs", added.P50, "µs", 5, false, $"gap p50 {Format.Us(g.GapsUs.P50)} µs vs direct {Format.Us(d.P50)} µs; {g.GapsUs.N} gaps, regime e");
            Add("gap-p99", "per-chunk added gap p99 ≤ 50 µs", added.P99, "µs", 50, false, $"gap p99 {Format.Us(g.GapsUs.P99)} µs vs direct {Format.Us(d.P99)} µs");
            // The same per-chunk cost timed from the upstream's stamp in each chunk: no target of its own, HAProxy's alongside.
            var floor = gaps.Rows.FirstOrDefault(x => x.Target.StartsWith("haproxy", StringComparison.Ordinal))?.AddedTransitUs;
            if (g.AddedTransitUs is { } transit)
            {
                Add("transit-p50", "per-chunk added transit p50 (upstream's send → caller; no target)", transit.P50, "µs", null, false,
                    floor is null ? "regime e" : $"HAProxy's {Format.Us(floor.P50)} µs");
                Add("transit-p99", "per-chunk added transit p99 (no target)", transit.P99, "µs", null, false,
                    floor is null ? "regime e" : $"HAProxy's {Format.Us(floor.P99)} µs");
            }
        }
        if (r.Paced is { } paced && paced.Steps.Any(s => s.Target == "integration-api"))
        {
            var highest = paced.HighestPassing("integration-api");
            var failed = paced.Steps.FirstOrDefault(s => s.Target == "integration-api" && !s.Passed);
            var atHighest = paced.Steps.FirstOrDefault(s => s.Target == "integration-api" && s.Streams == highest);
            var directFailed = paced.Steps.FirstOrDefault(s => s.Target != "integration-api" && !s.Passed);
            Add("paced-streams", "sustained paced streams on the one gateway core ≥ 5,000", highest ?? 0, "streams", 5000, true,
                (atHighest is null ? "" : $"gateway CPU {atHighest.GatewayCpu:P0} at {highest}; ") +
                (failed is null ? $"every step passed (up to {paced.Offered.Max()})" : $"{failed.Streams} failed: {failed.Why}") +
                $"; direct path: highest passing {paced.HighestPassing("upstream (direct)")?.ToString(CultureInfo.InvariantCulture) ?? "none"}" +
                (directFailed is null ? "" : $" ({directFailed.Streams} failed: {directFailed.Why})"));
        }
        var persistent = r.Patterns.FirstOrDefault();
        var seqCpu = r.SequentialCpu.FirstOrDefault(c => c.Target == "integration-api" && c.Mode == "stream");
        if (persistent is not null || seqCpu is not null)
            Add("cpu-stream", "gateway CPU per streamed chat (8 chunks) ≤ 40 µs", persistent?.GatewayCpuUsPerChat ?? seqCpu!.CpuUsPerChat, "µs", 40, false,
                (persistent is null ? "sequential (a), one chat in flight" : $"(c) one persistent stream, {persistent.Concurrency} at a time") +
                (persistent is not null && seqCpu is not null ? $"; one at a time (a): {seqCpu.CpuUsPerChat:0} µs" : ""));
        var pChat = r.Sequential.FirstOrDefault(x => x.Target.StartsWith("portkey", StringComparison.Ordinal) && x.Mode == "chat");
        if (oChat is not null && pChat is not null)
        {
            Add("unary-vs-portkey-p50", "unary Chat: ≥ 5× lower added latency than Portkey, p50", pChat.AddedTotal!.P50 / Floor1(oChat.AddedTotal!.P50), "×", 5, true,
                $"{pChat.Target} {Format.Us(pChat.AddedTotal.P50)} µs vs ours {Format.Us(oChat.AddedTotal.P50)} µs");
            Add("unary-vs-portkey-p99", "unary Chat: ≥ 5× lower added latency than Portkey, p99", pChat.AddedTotal.P99 / Floor1(oChat.AddedTotal.P99), "×", 5, true,
                $"{pChat.Target} {Format.Us(pChat.AddedTotal.P99)} µs vs ours {Format.Us(oChat.AddedTotal.P99)} µs");
        }
        if (r.Idle is { } idle)
            Add("idle-kb", "memory per idle stream ≤ 10 KB", idle.BytesPerIdleStream / 1024, "KB", 10, false, $"{idle.Streams} streams, RSS {idle.RssBeforeKb / 1024.0:0} → {idle.RssAfterKb / 1024.0:0} MB");

        // The floor: how many times HAProxy's figure ours is (no target of its own; the lower the better). HAProxy adds so
        // little that on a noisy machine its added p99 can come out at or below zero (the direct path's p99 drew a spike):
        // then there is no ratio to give, only the two figures.
        static double Ratio(double ours, double floor) => floor > 0 ? ours / floor : double.NaN;
        var hChat = r.Sequential.FirstOrDefault(x => x.Target.StartsWith("haproxy", StringComparison.Ordinal) && x.Mode == "chat");
        var hStream = r.Sequential.FirstOrDefault(x => x.Target.StartsWith("haproxy", StringComparison.Ordinal) && x.Mode == "stream");
        foreach (var (mode, o, h) in new[] { ("non-streamed", oChat, hChat), ("streamed", oStream, hStream) })
        {
            if (o is null || h is null) continue;
            var key = mode == "streamed" ? "stream" : "chat";
            Add($"haproxy-{key}-p50", $"vs HAProxy (floor), {mode}: our added p50 ÷ HAProxy's", Ratio(o.AddedTotal!.P50, h.AddedTotal!.P50), "×", null, false,
                $"ours {Format.Us(o.AddedTotal.P50)} µs, HAProxy {Format.Us(h.AddedTotal.P50)} µs");
            Add($"haproxy-{key}-p99", $"vs HAProxy (floor), {mode}: our added p99 ÷ HAProxy's", Ratio(o.AddedTotal.P99, h.AddedTotal.P99), "×", null, false,
                $"ours {Format.Us(o.AddedTotal.P99)} µs, HAProxy {Format.Us(h.AddedTotal.P99)} µs");
        }
        foreach (var mode in new[] { "chat", "stream" })
        {
            var o = r.SequentialCpu.FirstOrDefault(c => c.Target == "integration-api" && c.Mode == mode);
            var h = r.SequentialCpu.FirstOrDefault(c => c.Target.StartsWith("haproxy", StringComparison.Ordinal) && c.Mode == mode);
            if (o is null || h is null || h.CpuUsPerChat <= 0) continue;
            Add($"haproxy-cpu-{mode}", $"vs HAProxy (floor), {(mode == "chat" ? "non-streamed" : "streamed")}: our CPU per chat ÷ HAProxy's", o.CpuUsPerChat / h.CpuUsPerChat, "×", null, false,
                $"ours {o.CpuUsPerChat:0.0} µs, HAProxy {h.CpuUsPerChat:0.0} µs; sequential");
        }

        // Older targets, still measured.
        var oLoop = r.OpenLoop.FirstOrDefault(o => o.Target == "integration-api");
        if (oLoop is not null)
            Add("open-loop", "(older) ≥ 5,000 streamed chats/s on one core with p99 added < 5 ms", oLoop.MaxRateUnder5Ms ?? 0, "/s", 5000, true,
                $"highest sustained {oLoop.MaxSustainedRate?.ToString(CultureInfo.InvariantCulture) ?? "none"} /s");
        var pStream = r.Sequential.FirstOrDefault(x => x.Target.StartsWith("portkey", StringComparison.Ordinal) && x.Mode == "stream");
        if (oStream is not null && pStream is not null)
        {
            Add("stream-vs-portkey-p50", "(older) streamed: ≥ 5× lower added latency (end of stream) than Portkey, p50", pStream.AddedTotal!.P50 / Floor1(oStream.AddedTotal!.P50), "×", 5, true,
                $"{pStream.Target} {Format.Us(pStream.AddedTotal.P50)} µs vs ours {Format.Us(oStream.AddedTotal.P50)} µs");
            Add("ttft-vs-portkey-p50", "(older) ≥ 5× lower time-to-first-token overhead than Portkey, p50", pStream.AddedTtft!.P50 / Floor1(oStream.AddedTtft!.P50), "×", 5, true,
                $"{pStream.Target} {Format.Us(pStream.AddedTtft.P50)} µs vs ours {Format.Us(oStream.AddedTtft.P50)} µs");
        }
        return list;
    }
}
