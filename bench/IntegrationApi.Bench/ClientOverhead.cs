using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Grpc.Net.Client;
using IntegrationApi;
using IntegrationApi.Auth;
using IntegrationApi.Client;
using IntegrationApi.Contracts;
using IntegrationApi.Contracts.Common;
using IntegrationApi.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace IntegrationApi.Bench;

/// <summary>
/// The cost of the client library's multiplexing: the same sequential chats (one in flight) through
/// (a) the raw generated StreamChat stub on one stream, (b) IntegrationClient.ChatAsync, (c) unary Chat.
/// Service, fake upstream and load generator share this process; rounds interleave the three ways so drift
/// hits them alike. Results: bench/results/client-overhead.{md,json}. Run: bench/run.sh client-overhead.
/// </summary>
internal static class ClientOverhead
{
    public static async Task RunAsync(string[] args)
    {
        var rounds = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 20;
        var perRound = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 200;

        await using var fake = await OpenAIFake.StartNewAsync();
        fake.DefaultScript = new FakeScript { TextChunks = ["Hello", "! How can I", " help?"] };
        const string apiKey = "bench-key";
        var app = IntegrationApiApp.Create(["--environment", "Production"], builder =>
        {
            builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["Kestrel:Endpoints:Grpc:Url"] = "http://127.0.0.1:0",
                ["Kestrel:Endpoints:OpenAI:Url"] = "http://127.0.0.1:0",
                ["Kestrel:EndpointDefaults:Protocols"] = "Http2",
                ["Engine:RequestsPerSecondPerStream"] = "0", // measure the gateway, not its limits
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
        using var channel = GrpcChannel.ForAddress(address);
        var stub = new LlmService.LlmServiceClient(channel);
        await using var client = new IntegrationClient(channel, new IntegrationClientOptions { Headers = () => headers });
        using var raw = stub.StreamChat(headers);

        var request = new ChatRequest
        {
            ProviderName = "openai",
            Credential = new Credential { Value = new Struct { Fields = { ["key"] = Value.ForString("test-key") } } },
            Conversations = { new Message { Role = "user", Contents = { new Content { ContentType = "text", Content_ = ByteString.CopyFromUtf8("hi") } } } },
        };
        request.ModelParameters["model.name"] = Any.Pack(Value.ForString("gpt-4o-mini"));
        long id = 0;

        async Task<double> RawAsync()
        {
            var r = request.Clone();
            r.ClientRequestId = (++id).ToString(CultureInfo.InvariantCulture);
            var start = Stopwatch.GetTimestamp();
            await raw.RequestStream.WriteAsync(r);
            while (await raw.ResponseStream.MoveNext(CancellationToken.None))
                if (raw.ResponseStream.Current.FinishReason.Length > 0) break;
            return Stopwatch.GetElapsedTime(start).TotalMicroseconds;
        }

        async Task<double> ClientAsync()
        {
            var start = Stopwatch.GetTimestamp();
            var response = await client.ChatAsync(request);
            if (!response.Success) throw new InvalidOperationException(response.Error.ErrorMessage);
            return Stopwatch.GetElapsedTime(start).TotalMicroseconds;
        }

        async Task<double> UnaryAsync()
        {
            var start = Stopwatch.GetTimestamp();
            var response = await stub.ChatAsync(request, headers);
            if (!response.Success) throw new InvalidOperationException(response.Error.ErrorMessage);
            return Stopwatch.GetElapsedTime(start).TotalMicroseconds;
        }

        var ways = new (string Name, Func<Task<double>> Run, List<double> Samples)[]
        {
            ("raw generated StreamChat stub", RawAsync, []),
            ("IntegrationClient.ChatAsync", ClientAsync, []),
            ("unary Chat", UnaryAsync, []),
        };
        foreach (var (_, run, _) in ways) for (var i = 0; i < 300; i++) await run(); // warm-up: JIT, connections
        for (var round = 0; round < rounds; round++)
            foreach (var (_, run, samples) in ways)
                for (var i = 0; i < perRound; i++) samples.Add(await run());

        static double Pct(List<double> sorted, double p) => sorted[Math.Min(sorted.Count - 1, (int)Math.Ceiling(p * sorted.Count) - 1)];
        var rows = ways.Select(w =>
        {
            var s = w.Samples.Order().ToList();
            return new { way = w.Name, n = s.Count, p50_us = Pct(s, 0.50), p90_us = Pct(s, 0.90), p99_us = Pct(s, 0.99), mean_us = s.Average() };
        }).ToList();

        var md = new StringBuilder();
        md.AppendLine("# Client multiplexing overhead");
        md.AppendLine();
        md.AppendLine($"Measured {DateTime.UtcNow:yyyy-MM-dd} on {Environment.ProcessorCount} cores, .NET {Environment.Version}: sequential chats (one in flight),");
        md.AppendLine($"{rounds} interleaved rounds of {perRound} per way, after 300 warm-up calls each. Service, zero-latency fake OpenAI");
        md.AppendLine("(3 content chunks + usage) and caller share one process; each sample is the full request, first byte out to terminal in.");
        md.AppendLine();
        md.AppendLine("| way | n | p50 µs | p90 µs | p99 µs | mean µs |");
        md.AppendLine("|---|---|---|---|---|---|");
        foreach (var r in rows) md.AppendLine($"| {r.way} | {r.n} | {r.p50_us:0} | {r.p90_us:0} | {r.p99_us:0} | {r.mean_us:0} |");
        md.AppendLine();
        md.AppendLine($"Client overhead over the raw stub: p50 {rows[1].p50_us - rows[0].p50_us:+0;-0} µs, mean {rows[1].mean_us - rows[0].mean_us:+0;-0} µs per request.");
        var dir = Path.Combine(BenchPaths.RepoRoot, "bench", "results");
        Directory.CreateDirectory(dir);
        await File.WriteAllTextAsync(Path.Combine(dir, "client-overhead.md"), md.ToString());
        await File.WriteAllTextAsync(Path.Combine(dir, "client-overhead.json"), JsonSerializer.Serialize(rows, new JsonSerializerOptions { WriteIndented = true }));
        Console.Write(md);
        await raw.RequestStream.CompleteAsync();
        await app.StopAsync();
    }
}
