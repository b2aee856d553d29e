using Grpc.Core;
using Grpc.Health.V1;
using Grpc.Reflection.V1Alpha;
using IntegrationApi.Testing;
using IntegrationApi.Tests.Infrastructure;

namespace IntegrationApi.Tests.Functional;

/// <summary>What operators see: Prometheus metrics, health, reflection; and the per-stream and per-principal limits.</summary>
public sealed class OperationsTests
{
    [Fact]
    public async Task Metrics_CountStreamsRequestsTokensAndCancels_OverHttp1()
    {
        await using var gateway = await TestGateway.StartAsync();
        gateway.OpenAI.DefaultScript = new FakeScript { TextChunks = ["a", "b"], InputTokens = 9, OutputTokens = 2 };
        // The meter is process-wide and other tests' services run alongside: a model name of its own keeps
        // this test's series apart (the token counters, tagged by provider only, are shared: at least ours).
        Contracts.ChatRequest Chat(string key = "test-key")
        {
            var request = gateway.NewChat("openai", "hi", key: key);
            request.ModelParameters["model.name"] = TestRequests.Param(Google.Protobuf.WellKnownTypes.Value.ForString("metrics-test-model"));
            return request;
        }
        using (var stream = gateway.OpenStream("openai"))
        {
            await stream.SendAsync(Chat());
            await stream.ReadUntilAsync(ChatStream.IsTerminal);
            await stream.SendAsync(Chat(key: "bad"));
            await stream.ReadUntilAsync(ChatStream.IsTerminal);
            await stream.CompleteAsync();
            await stream.ReadToEndAsync();
        }

        using var http = new HttpClient { DefaultRequestVersion = System.Net.HttpVersion.Version11 };
        var text = await http.GetStringAsync(gateway.HttpAddress + "/metrics").DefaultTimeout();

        Assert.Contains("integration_api_requests_total{", text);
        Assert.Matches("integration_api_requests_total\\{[^}]*code=\"200\",model=\"metrics-test-model\",provider=\"openai\"[^}]*\\} 1\n", text);
        Assert.Matches("integration_api_requests_total\\{[^}]*code=\"401\",model=\"metrics-test-model\",provider=\"openai\"[^}]*\\} 1\n", text);
        var input = System.Text.RegularExpressions.Regex.Match(text, "integration_api_tokens_total\\{[^}]*direction=\"input\"[^}]*provider=\"openai\"[^}]*\\} (\\d+)");
        Assert.True(input.Success && long.Parse(input.Groups[1].Value) >= 9, "input tokens counted");
        Assert.Contains("integration_api_stream_messages_received_total", text);
        Assert.Contains("integration_api_request_time_to_first_token_seconds_bucket", text);
        Assert.DoesNotContain("test-key", text);
    }

    [Fact]
    public async Task Health_GrpcAndHttp_ServingUntilShutdown()
    {
        await using var gateway = await TestGateway.StartAsync();
        var health = new Health.HealthClient(gateway.Channel);
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, (await health.CheckAsync(new HealthCheckRequest())).Status);
        using var http = new HttpClient();
        Assert.True((await http.GetAsync(gateway.HttpAddress + "/healthz")).IsSuccessStatusCode);
        Assert.Equal("Healthy", await http.GetStringAsync(gateway.HttpAddress + "/readiness"));
    }

    [Fact]
    public async Task Reflection_ListsTheServices()
    {
        await using var gateway = await TestGateway.StartAsync();
        using var call = new ServerReflection.ServerReflectionClient(gateway.Channel).ServerReflectionInfo();
        await call.RequestStream.WriteAsync(new ServerReflectionRequest { ListServices = "" });
        await call.RequestStream.CompleteAsync();
        Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None));
        var services = call.ResponseStream.Current.ListServicesResponse.Service.Select(s => s.Name).ToList();
        while (await call.ResponseStream.MoveNext(CancellationToken.None)) { } // let the call end before disposing it
        Assert.Contains("integration_api.LlmService", services);
        Assert.Contains("integration_api.OpenAiService", services);
        Assert.Contains("grpc.health.v1.Health", services);
    }

    [Fact]
    public async Task PerStreamRequestRate_Over_429_InOrder_StreamGoesOn()
    {
        await using var gateway = await TestGateway.StartAsync(new Dictionary<string, string?>
        {
            ["Engine:RequestsPerSecondPerStream"] = "1",
            ["Engine:RequestBurstPerStream"] = "2",
        });
        using var stream = gateway.OpenStream("openai");
        for (var i = 0; i < 3; i++) await stream.SendAsync(gateway.NewChat("openai", $"r{i}"));
        var terminals = await stream.ReadTerminalsAsync(3);
        Assert.Equal([200, 200, 429], terminals.Select(t => t.Code));
        Assert.Contains("per second", terminals[2].Error.ErrorMessage);
        Assert.Equal(2, gateway.OpenAI.Requests.Count);
    }

    [Fact]
    public async Task PerPrincipalConcurrency_Over_429_AcrossStreams()
    {
        await using var gateway = await TestGateway.StartAsync(new Dictionary<string, string?> { ["Engine:MaxConcurrentRequestsPerPrincipal"] = "1" });
        gateway.OpenAI.On("hold", new FakeScript { TextChunks = ["h1", "h2"], Fault = FakeFault.Stall, FaultAfterChunks = 1 });
        using var first = gateway.OpenStream("openai");
        using var second = gateway.OpenStream("openai");
        await first.SendAsync(gateway.NewChat("openai", "hold", "A"));
        await first.ReadAsync();                                     // A is running
        await second.SendAsync(gateway.NewChat("openai", "other", "B"));
        var refused = await second.ReadUntilAsync(ChatStream.IsTerminal);
        Assert.Equal(429, refused.Code);
        Assert.Contains("this project", refused.Error.ErrorMessage);
        var unary = await gateway.ChatAsync("openai", gateway.NewChat("openai", "unary"));
        Assert.Equal(429, unary.Code);

        await first.CancelAsync("A");
        Assert.Equal(499, (await first.ReadUntilAsync(ChatStream.IsTerminal)).Code);
        await second.SendAsync(gateway.NewChat("openai", "again", "C"));
        Assert.True((await second.ReadUntilAsync(ChatStream.IsTerminal)).Success); // the lease came back
    }
}
