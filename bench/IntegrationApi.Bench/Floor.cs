using System.Diagnostics;
using Grpc.Health.V1;
using IntegrationApi.Contracts;

namespace IntegrationApi.Bench;

/// <summary>
/// Where the gateway's added latency goes, by subtraction: against the running gateway, the same sequential loop
/// (a) a health check (unary gRPC, no work), (b) a chat refused at once on a persistent stream (no upstream call),
/// (c) a full streamed chat. Run: dotnet IntegrationApi.Bench.dll floor (it starts the gateway like `gateways`).
/// </summary>
internal static class Floor
{
    public static async Task RunAsync(string address, string apiKey)
    {
        using var channel = GrpcChatTarget.CreateChannel(address);
        var health = new Health.HealthClient(channel);
        var owner = new GrpcChatTarget("floor", address, apiKey);
        using var stream = new GrpcSequentialTarget("floor", owner);
        var headers = new Grpc.Core.Metadata { { "x-api-key", apiKey } };
        using var call = owner.Stub.StreamChat(headers);
        var refused = BenchRequests.Grpc();
        refused.Credential = null;

        async Task<double> Health() { var t = Stopwatch.GetTimestamp(); await health.CheckAsync(new HealthCheckRequest()); return Stopwatch.GetElapsedTime(t).TotalMicroseconds; }
        async Task<double> Refused()
        {
            var t = Stopwatch.GetTimestamp();
            await call.RequestStream.WriteAsync(refused);
            await call.ResponseStream.MoveNext(CancellationToken.None);
            return Stopwatch.GetElapsedTime(t).TotalMicroseconds;
        }
        await Regimes.WarmUpAsync([stream], TimeSpan.FromSeconds(8)); // tier-1 code first (see WarmUpAsync)
        async Task<double> Full() => (await stream.ChatAsync(true, Stopwatch.GetTimestamp())).TotalUs;
        async Task<double> Unary() => (await owner.ChatAsync(false, Stopwatch.GetTimestamp())).TotalUs;

        foreach (var (name, run) in new (string, Func<Task<double>>)[] { ("health check (unary, no work)", Health), ("refused chat on a stream (no upstream)", Refused), ("streamed chat", Full), ("unary chat", Unary) })
        {
            for (var i = 0; i < 500; i++) await run();
            var samples = new List<double>();
            for (var i = 0; i < 3000; i++) samples.Add(await run());
            var d = Dist.Of(samples);
            Console.WriteLine($"  {name,-40} p50 {Format.Us(d.P50),6} us  p90 {Format.Us(d.P90),6} us  p99 {Format.Us(d.P99),6} us");
        }
        await owner.DisposeAsync();
    }
}
