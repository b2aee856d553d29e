using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using IntegrationApi.Client;
using IntegrationApi.Contracts;
using IntegrationApi.Contracts.Common;

namespace IntegrationApi.Bench;

/// <summary>One variant of one run: the caller's time to first token and what the upstream saw.</summary>
internal sealed record HedgingRun(int Run, string Variant, int Sent, int Failures, Dist TtftUs, double Seconds,
    int UpstreamRequests, int HeldBack, int Aborted, int ServedByFallback, int Attempts)
{
    /// <summary>Upstream calls per request sent; 1 means hedging cost nothing.</summary>
    public double CallsPerRequest => Sent == 0 ? 0 : (double)UpstreamRequests / Sent;
    [System.Text.Json.Serialization.JsonIgnore] public double[] Samples { get; init; } = [];
}

/// <summary>
/// (h) "Never miss a first token": the primary (model <see cref="BenchUpstream.SlowModel"/>) holds its first token back
/// 2 s in a seeded 20 % of requests, the fallback (model <see cref="BenchUpstream.FastModel"/>, same provider and
/// upstream) answers at once. Each run sends the same numbered requests without hedging, then with
/// <c>hedgeAfterMs</c> and the fallback; the caller times the first delta, the upstream counts calls and aborts.
/// Writes bench/results/hedging.{md,json} and hedging-ttft.png (quick mode: quick-hedging.*).
/// </summary>
internal static class Hedging
{
    private const uint HedgeAfterMs = 300;
    private const string NoHedging = "no hedging";
    private static readonly string Hedged = $"hedgeAfterMs {HedgeAfterMs} + 1 fallback";

    public static async Task RunAsync(OursGateway ours, string apiKey, BenchUpstream upstream, BenchSettings settings)
    {
        var started = Stopwatch.GetTimestamp();
        var headers = new Grpc.Core.Metadata { { "x-api-key", apiKey } };
        using var channel = GrpcChatTarget.CreateChannel(ours.Address);
        await using var client = new IntegrationClient(channel, new IntegrationClientOptions { Headers = () => headers, ResendBeforeFirstDelta = false });
        upstream.ModelRules = true;
        try
        {
            // Warm-up: both paths (one target, hedged) with nothing slow for some seconds (tier-1 code needs time, not a
            // count: Regimes.WarmUpAsync), so the runs measure waiting, not the JIT.
            var warmUntil = Stopwatch.GetTimestamp() + (settings.Quick ? 3 : 6) * Stopwatch.Frequency;
            for (var hedged = false; Stopwatch.GetTimestamp() < warmUntil; hedged = !hedged)
                await SendAsync(client, 0, 200, settings.HedgeConcurrency, BenchUpstream.FastModel, hedged);
            var runs = new List<HedgingRun>();
            for (var run = 1; run <= settings.HedgeRuns; run++)
            {
                // Request numbers differ per run (another 20 % are slow), and are the same for both variants of a run.
                var first = run * settings.HedgeRequests;
                foreach (var hedged in new[] { false, true })
                {
                    upstream.Counts.Reset();
                    var (samples, failures, fallbackWins, attempts, seconds) =
                        await SendAsync(client, first, settings.HedgeRequests, settings.HedgeConcurrency, BenchUpstream.SlowModel, hedged);
                    await Task.Delay(500); // the upstream sees the last aborts shortly after the gateway's terminals
                    var c = upstream.Counts;
                    var result = new HedgingRun(run, hedged ? Hedged : NoHedging, settings.HedgeRequests, failures, Dist.Of(samples), seconds,
                        c.Requests, Volatile.Read(ref c.HeldBack), Volatile.Read(ref c.Aborted), fallbackWins, attempts) { Samples = samples };
                    runs.Add(result);
                    Console.WriteLine($"  run {run} {result.Variant,-28} ttft p50 {Ms(result.TtftUs.P50)} p90 {Ms(result.TtftUs.P90)} p99 {Ms(result.TtftUs.P99)} max {Ms(result.TtftUs.Max)} ms;" +
                        $" upstream {result.UpstreamRequests} calls for {result.Sent} ({result.CallsPerRequest:0.00}/request), {result.HeldBack} held back, {result.Aborted} aborted;" +
                        $" fallback served {result.ServedByFallback}; failures {result.Failures}; {seconds:0.0} s");
                }
            }
            await WriteAsync(settings, runs, Stopwatch.GetElapsedTime(started), upstream.SlowFirstToken);
        }
        finally
        {
            upstream.ModelRules = false;
        }
    }

    /// <summary>Sends requests <paramref name="first"/>.. (<paramref name="count"/> of them), <paramref name="concurrency"/> at a time.</summary>
    private static async Task<(double[] TtftUs, int Failures, int FallbackWins, int Attempts, double Seconds)> SendAsync(
        IntegrationClient client, int first, int count, int concurrency, string model, bool hedged)
    {
        var ttft = new List<double>[concurrency];
        var failures = 0;
        var fallbackWins = 0;
        var attempts = 0;
        var next = first - 1;
        var start = Stopwatch.GetTimestamp();
        await Task.WhenAll(Enumerable.Range(0, concurrency).Select(async w =>
        {
            var mine = ttft[w] = [];
            int n;
            while ((n = Interlocked.Increment(ref next)) < first + count)
            {
                var request = Request(n, model, hedged);
                var sent = Stopwatch.GetTimestamp();
                double firstToken = 0;
                ChatResponse? terminal = null;
                try
                {
                    await foreach (var response in client.StreamAsync(request))
                    {
                        if (response.FinishReason.Length > 0 || !response.Success) { terminal = response; break; }
                        if (firstToken == 0 && response.Data is not null) firstToken = Stopwatch.GetElapsedTime(sent).TotalMicroseconds;
                    }
                }
                catch (Exception ex) when (ex is RpcException or IntegrationStreamException or IntegrationRequestException or IOException) { }
                if (terminal is not { Success: true } || firstToken == 0) { Interlocked.Increment(ref failures); continue; }
                mine.Add(firstToken);
                var metrics = terminal.Metrics.ToDictionary(m => m.Name, m => m.Value);
                if (metrics.GetValueOrDefault(MetricNames.ModelName) == BenchUpstream.FastModel && model != BenchUpstream.FastModel) Interlocked.Increment(ref fallbackWins);
                Interlocked.Add(ref attempts, int.TryParse(metrics.GetValueOrDefault(MetricNames.Attempts), CultureInfo.InvariantCulture, out var a) ? a : 1);
            }
        }));
        return (ttft.SelectMany(t => t).ToArray(), failures, fallbackWins, attempts, Stopwatch.GetElapsedTime(start).TotalSeconds);
    }

    /// <summary>The bench's chat with the request number in its prompt (the upstream's 20 % rule reads it) and, hedged, one fallback.</summary>
    private static ChatRequest Request(int n, string model, bool hedged)
    {
        var request = new ChatRequest
        {
            ProviderName = "openai",
            Credential = new Credential { Value = new Struct { Fields = { ["key"] = Value.ForString(BenchUpstream.Key) } } },
            Conversations =
            {
                new Message { Role = "user", Contents = { new Content { ContentType = "text", Content_ = ByteString.CopyFromUtf8($"{BenchRequests.Prompt} ({BenchUpstream.RequestMarker}{n})") } } },
            },
        };
        request.ModelParameters["model.name"] = Any.Pack(Value.ForString(model));
        if (hedged)
        {
            var fallback = new ChatTarget();
            fallback.ModelParameters["model.name"] = Any.Pack(Value.ForString(BenchUpstream.FastModel));
            request.Fallbacks.Add(fallback);
            request.HedgeAfterMs = HedgeAfterMs;
        }
        return request;
    }

    private static string Ms(double us) => (us / 1000).ToString(us >= 100_000 ? "0" : "0.0", CultureInfo.InvariantCulture);

    private static async Task WriteAsync(BenchSettings settings, List<HedgingRun> runs, TimeSpan elapsed, TimeSpan slow)
    {
        var dir = Directory.CreateDirectory(Path.Combine(BenchPaths.Bench, "results")).FullName;
        var prefix = settings.Quick ? "quick-" : "";
        await File.WriteAllTextAsync(Path.Combine(dir, prefix + "hedging.json"), JsonSerializer.Serialize(runs, new JsonSerializerOptions
        {
            WriteIndented = true, NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals,
        }));
        string? plot = null;
        try
        {
            var percentiles = Enumerable.Range(1, 100).Select(i => (double)i).ToArray();
            var series = new[] { NoHedging, Hedged }.Select(v =>
            {
                var pooled = runs.Where(r => r.Variant == v).SelectMany(r => r.Samples).Order().ToArray();
                return (v, percentiles, percentiles.Select(p => Math.Log10(Math.Max(1, Dist.Pct(pooled, p / 100.0)))).ToArray());
            });
            plot = BenchReport.SaveLines(dir, prefix + "hedging-ttft.png", $"(h) time to first token, {runs.Count / 2} runs pooled: primary slow ({slow.TotalSeconds:0.#} s) in {BenchUpstream.SlowPercent} % of requests",
                "percentile (100 = max)", "time to first token (µs, log scale)", series, logScale: true, markers: false);
        }
        catch (Exception ex) when (ex is TypeInitializationException or DllNotFoundException)
        {
            Console.Error.WriteLine($"plot skipped: {ex.Message}");
        }

        var md = new StringBuilder();
        var n = settings.HedgeRequests;
        md.AppendLine("# Hedging: time to first token when the primary is sometimes slow");
        md.AppendLine();
        md.AppendLine($"Run `bench/run.sh hedging{(settings.Quick ? " --quick" : "")}` on {DateTime.UtcNow.ToString("yyyy-MM-dd HH:mm 'UTC'", CultureInfo.InvariantCulture)}, {BenchReport.MachineLine(settings)}; took {elapsed.TotalMinutes:0.0} min.");
        md.AppendLine();
        md.AppendLine($"Method: our gateway (Release, its own process) in front of the bench's OpenAI upstream; per run {n} streamed chats " +
            $"over `StreamChat`, {settings.HedgeConcurrency} at a time, to model `{BenchUpstream.SlowModel}`, which holds its first token back " +
            $"{slow.TotalSeconds:0.#} s for a seeded {BenchUpstream.SlowPercent} % of request numbers (exactly {BenchUpstream.SlowPercent} of every 100; the same requests in both variants of a run, others in each run) " +
            $"and otherwise answers at once, like the fallback target (same provider, model `{BenchUpstream.FastModel}`, never slow); " +
            "time to first token is taken by the caller, from sending the request to its first delta; upstream calls and aborted calls are counted by the upstream.");
        md.AppendLine();
        md.AppendLine($"Spread over {runs.Count / 2} runs: median (min–max) of the runs' figures.");
        md.AppendLine();
        md.AppendLine("| variant | ttft p50 ms | ttft p90 ms | ttft p99 ms | ttft max ms | upstream calls / request | aborted upstream calls / request | answered by the fallback | failures |");
        md.AppendLine("|---|---|---|---|---|---|---|---|---|");
        foreach (var variant in new[] { NoHedging, Hedged })
        {
            var rs = runs.Where(r => r.Variant == variant).ToList();
            string Spread(Func<HedgingRun, double> f, Func<double, string> format)
            {
                var v = rs.Select(f).Order().ToArray();
                return v.Length == 0 ? "-" : $"{format(Dist.Pct(v, 0.5))} ({format(v[0])}–{format(v[^1])})";
            }
            md.AppendLine($"| {variant} | {Spread(r => r.TtftUs.P50, Ms)} | {Spread(r => r.TtftUs.P90, Ms)} | {Spread(r => r.TtftUs.P99, Ms)} | {Spread(r => r.TtftUs.Max, Ms)} " +
                $"| {Spread(r => r.CallsPerRequest, x => x.ToString("0.00", CultureInfo.InvariantCulture))} " +
                $"| {Spread(r => (double)r.Aborted / r.Sent, x => x.ToString("0.00", CultureInfo.InvariantCulture))} " +
                $"| {Spread(r => r.ServedByFallback, x => x.ToString("0", CultureInfo.InvariantCulture))} / {n} " +
                $"| {rs.Sum(r => r.Failures)} |");
        }
        md.AppendLine();
        md.AppendLine("Every run:");
        md.AppendLine();
        md.AppendLine("| run | variant | sent | ttft p50 ms | p90 ms | p99 ms | max ms | upstream calls | held back 2 s | aborted | answered by the fallback | attempts (gateway) | seconds |");
        md.AppendLine("|---|---|---|---|---|---|---|---|---|---|---|---|---|");
        foreach (var r in runs)
            md.AppendLine($"| {r.Run} | {r.Variant} | {r.Sent} | {Ms(r.TtftUs.P50)} | {Ms(r.TtftUs.P90)} | {Ms(r.TtftUs.P99)} | {Ms(r.TtftUs.Max)} | {r.UpstreamRequests} | {r.HeldBack} | {r.Aborted} | {r.ServedByFallback} | {r.Attempts} | {r.Seconds:0.0} |");
        md.AppendLine();
        md.AppendLine("*held back*: calls the upstream delayed (the slow 20 %); *aborted*: upstream calls that ended before the answer was complete (the losers of a hedge); " +
            "*attempts*: the sum of the terminals' `ATTEMPTS` metric.");
        if (plot is not null)
        {
            md.AppendLine();
            md.AppendLine($"![time to first token by percentile]({plot})");
        }
        await File.WriteAllTextAsync(Path.Combine(dir, prefix + "hedging.md"), md.ToString());
        Console.WriteLine($"wrote bench/results/{prefix}hedging.md, {prefix}hedging.json{(plot is null ? "" : ", " + plot)} in {elapsed.TotalMinutes:0.0} min");
    }
}
