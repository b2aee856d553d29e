using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Google.Protobuf.WellKnownTypes;
using Grpc.Net.Client;
using IntegrationApi;
using IntegrationApi.Auth;
using IntegrationApi.Contracts;
using IntegrationApi.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace IntegrationApi.Bench;

/// <summary>
/// The latency the gateway adds to <c>Embedding</c>: the same embedding requests (1 input, and 256 inputs) sent
/// (a) straight to the fake OpenAI <c>/v1/embeddings</c> with HttpClient, reading the vectors out of the JSON, and
/// (b) through the gateway's <c>LlmService.Embedding</c> (gRPC in, the same upstream call, vectors as proto doubles out).
/// Service, fake and caller share one process; rounds interleave the two ways. Results: bench/results/embedding-overhead.md.
/// Run: bench/run.sh embedding-overhead [rounds] [perRound].
/// </summary>
internal static class EmbeddingOverhead
{
    public static async Task RunAsync(string[] args)
    {
        var rounds = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 5;
        var perRound = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 20;
        const int dimensions = 256;

        await using var fake = await OpenAIFake.StartNewAsync();
        const string apiKey = "bench-key";
        var app = IntegrationApiApp.Create(["--environment", "Production"], builder =>
        {
            builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["Kestrel:Endpoints:Grpc:Url"] = "http://127.0.0.1:0",
                ["Kestrel:EndpointDefaults:Protocols"] = "Http2",
                ["Providers:OpenAI:BaseUrl"] = fake.BaseUrl,
                ["Auth:ApiKeys:0:Sha256"] = CallerAuthenticator.HashKey(apiKey),
                ["Auth:ApiKeys:0:OrganizationId"] = "1",
                ["Auth:ApiKeys:0:ProjectId"] = "1",
            });
            builder.Logging.ClearProviders();
        });
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        var headers = new Grpc.Core.Metadata { { "x-api-key", apiKey } };
        using var channel = GrpcChannel.ForAddress(address, new GrpcChannelOptions { MaxReceiveMessageSize = 64 << 20 });
        var stub = new LlmService.LlmServiceClient(channel);
        using var http = new HttpClient();
        http.DefaultRequestHeaders.Authorization = new("Bearer", "test-key");

        static string[] Texts(int n) => [.. Enumerable.Range(0, n).Select(i => $"text number {i} to embed, about a dozen tokens long")];

        async Task<double> DirectAsync(string[] texts)
        {
            var start = Stopwatch.GetTimestamp();
            using var response = await http.PostAsJsonAsync(fake.BaseUrl + "/embeddings",
                new { model = "text-embedding-3-small", input = texts, dimensions, encoding_format = "float" });
            response.EnsureSuccessStatusCode();
            using var doc = await JsonDocument.ParseAsync(await response.Content.ReadAsStreamAsync());
            var count = 0;
            foreach (var d in doc.RootElement.GetProperty("data").EnumerateArray())
                foreach (var x in d.GetProperty("embedding").EnumerateArray()) { _ = x.GetSingle(); count++; }
            if (count != texts.Length * dimensions) throw new InvalidOperationException("short answer");
            return Stopwatch.GetElapsedTime(start).TotalMicroseconds;
        }

        async Task<double> GatewayAsync(string[] texts)
        {
            var request = new EmbeddingRequest
            {
                ProviderName = "openai",
                Credential = new Credential { Value = new Struct { Fields = { ["key"] = Value.ForString("test-key") } } },
            };
            for (var i = 0; i < texts.Length; i++) request.Content[i] = texts[i];
            request.ModelParameters["model.dimensions"] = Any.Pack(Value.ForNumber(dimensions));
            var start = Stopwatch.GetTimestamp();
            var response = await stub.EmbeddingAsync(request, headers);
            if (!response.Success || response.Data.Count != texts.Length) throw new InvalidOperationException(response.Error?.ErrorMessage ?? "short answer");
            return Stopwatch.GetElapsedTime(start).TotalMicroseconds;
        }

        var md = new StringBuilder();
        md.AppendLine("# Embedding: latency added by the gateway");
        md.AppendLine();
        md.AppendLine($"Measured {DateTime.UtcNow:yyyy-MM-dd} on {Environment.ProcessorCount} cores (shared), .NET {Environment.Version}: sequential requests,");
        md.AppendLine($"{rounds} interleaved rounds of {perRound} per way after warm-up; {dimensions}-dimension vectors as numbers from the loopback fake");
        md.AppendLine("OpenAI; fake, service and caller in one process. \"direct\" posts to the fake and reads every number out of the JSON;");
        md.AppendLine("\"gateway\" is `LlmService.Embedding` (gRPC, caller auth, audit, the same upstream call, vectors as proto doubles).");
        md.AppendLine();
        md.AppendLine("| inputs | way | n | p50 µs | p90 µs | p99 µs | mean µs |");
        md.AppendLine("|---|---|---|---|---|---|---|");
        var lines = new List<string>();
        foreach (var n in new[] { 1, 256 })
        {
            var texts = Texts(n);
            var ways = new (string Name, Func<Task<double>> Run, List<double> Samples)[]
            {
                ("direct", () => DirectAsync(texts), []),
                ("gateway", () => GatewayAsync(texts), []),
            };
            foreach (var (_, run, _) in ways) for (var i = 0; i < 30; i++) await run(); // JIT, connections
            for (var round = 0; round < rounds; round++)
                foreach (var (_, run, samples) in ways)
                    for (var i = 0; i < perRound; i++) samples.Add(await run());
            var stats = ways.Select(w => (w.Name, Sorted: w.Samples.Order().ToList())).ToList();
            foreach (var (name, s) in stats)
                md.AppendLine($"| {n} | {name} | {s.Count} | {Pct(s, 0.5):0} | {Pct(s, 0.9):0} | {Pct(s, 0.99):0} | {s.Average():0} |");
            lines.Add($"Added by the gateway, {n} input{(n == 1 ? "" : "s")}: p50 {Pct(stats[1].Sorted, 0.5) - Pct(stats[0].Sorted, 0.5):+0;-0} µs, mean {stats[1].Sorted.Average() - stats[0].Sorted.Average():+0;-0} µs.");
        }
        md.AppendLine();
        foreach (var line in lines) md.AppendLine(line);
        var dir = Path.Combine(BenchPaths.RepoRoot, "bench", "results");
        Directory.CreateDirectory(dir);
        await File.WriteAllTextAsync(Path.Combine(dir, "embedding-overhead.md"), md.ToString());
        Console.Write(md);
        await app.StopAsync();
    }

    private static double Pct(List<double> sorted, double p) => sorted[Math.Min(sorted.Count - 1, (int)Math.Ceiling(p * sorted.Count) - 1)];
}
