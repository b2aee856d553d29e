using System.Globalization;
using System.Text;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Diagnosers;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Loggers;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using IntegrationApi.MicroBench;

// Per-chunk cost of each adapter's SSE parse + translation, and of turning a delta into gRPC bytes.
// A streamed answer of 1 and of 257 content chunks is replayed from memory (over loopback HTTP, one write);
// (cost(257) - cost(1)) / 256 is the cost of one chunk, with the request's fixed cost cancelled out.
// Writes bench/results/microbench.md (--quick: fewer iterations, bench/results/quick-microbench.md). bench/run.sh runs it.
var quick = args.Contains("--quick");
var root = FindRoot();
var config = ManualConfig.CreateEmpty()
    .AddJob(Job.Default.WithToolchain(InProcessEmitToolchain.Instance).WithLaunchCount(1)
        .WithWarmupCount(quick ? 2 : 4).WithIterationCount(quick ? 4 : 12).WithUnrollFactor(1).WithInvocationCount(quick ? 64 : 256))
    .AddDiagnoser(MemoryDiagnoser.Default)
    .AddColumnProvider(DefaultColumnProviders.Instance)
    .AddLogger(ConsoleLogger.Default)
    .WithArtifactsPath(Path.Combine(root, "bench", ".work", "BenchmarkDotNet.Artifacts"));
var chunkSummary = BenchmarkRunner.Run<ChunkBenchmarks>(config);
var deltaSummary = BenchmarkRunner.Run<DeltaBenchmarks>(config);

var md = new StringBuilder();
md.AppendLine("# Microbenchmarks (BenchmarkDotNet)");
md.AppendLine();
md.AppendLine($"{DateTime.UtcNow:yyyy-MM-dd}, {(quick ? "quick" : "full")} mode, in-process toolchain, pinned to one core. Per content chunk, through each adapter's real `IChatProvider`:");
md.AppendLine("SSE framing (System.Net.ServerSentEvents), JSON (source-generated System.Text.Json) and translation into the engine's updates.");
md.AppendLine("Derived as (answer of 257 chunks − answer of 1 chunk) / 256, so the request's fixed cost (HTTP, headers) cancels out.");
md.AppendLine();
md.AppendLine("| adapter (dialect) | ns per chunk | bytes allocated per chunk | whole 1-chunk answer µs | whole 257-chunk answer µs |");
md.AppendLine("|---|---|---|---|---|");
foreach (var provider in ChunkBenchmarks.Providers)
{
    var one = Find(chunkSummary, provider, 1);
    var many = Find(chunkSummary, provider, 257);
    if (one is null || many is null) { md.AppendLine($"| {provider} | failed | | | |"); continue; }
    md.AppendLine(CultureInfo.InvariantCulture, $"| {provider} | {(many.Value.Ns - one.Value.Ns) / 256:0} | {(many.Value.Bytes - one.Value.Bytes) / 256.0:0} | {one.Value.Ns / 1000:0.0} | {many.Value.Ns / 1000:0.0} |");
}
md.AppendLine();
md.AppendLine("Replicate (prediction + SSE stream on a second URL) and Azure / Vertex AI (the OpenAI and Gemini dialects with other URLs and auth) are covered by the dialect rows.");
md.AppendLine();
md.AppendLine("| delta to gRPC bytes | ns | bytes allocated |");
md.AppendLine("|---|---|---|");
foreach (var report in deltaSummary.Reports)
{
    var stats = report.ResultStatistics;
    var bytes = report.GcStats.GetBytesAllocatedPerOperation(report.BenchmarkCase) ?? 0;
    md.AppendLine(CultureInfo.InvariantCulture, $"| {report.BenchmarkCase.Descriptor.WorkloadMethod.Name} | {stats?.Mean:0} | {bytes} |");
}
Directory.CreateDirectory(Path.Combine(root, "bench", "results"));
File.WriteAllText(Path.Combine(root, "bench", "results", quick ? "quick-microbench.md" : "microbench.md"), md.ToString());
Console.WriteLine(md);
return 0;

static (double Ns, long Bytes)? Find(BenchmarkDotNet.Reports.Summary summary, string provider, int chunks)
{
    var report = summary.Reports.FirstOrDefault(r =>
        (string)r.BenchmarkCase.Parameters["Provider"] == provider && (int)r.BenchmarkCase.Parameters["Chunks"] == chunks);
    if (report?.ResultStatistics is null) return null;
    return (report.ResultStatistics.Mean, report.GcStats.GetBytesAllocatedPerOperation(report.BenchmarkCase) ?? 0);
}

static string FindRoot()
{
    var dir = new DirectoryInfo(AppContext.BaseDirectory);
    while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "IntegrationApi.sln"))) dir = dir.Parent;
    return dir?.FullName ?? Directory.GetCurrentDirectory();
}
