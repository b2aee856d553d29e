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
        // The model tag is bounded by an allow-list: this test's model is on it.
        await using var gateway = await TestGateway.StartAsync(new Dictionary<string, string?> { ["Metrics:Models:0"] = "metrics-test-model" });
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
    public async Task Metrics_HistogramBoundaries_GenAiInstruments_Resource_InThePrometheusOutput()
    {
        await using var gateway = await TestGateway.StartAsync(new Dictionary<string, string?>
        {
            ["Metrics:Models:0"] = "boundaries-test-model*",
            ["Metrics:InstanceId"] = "boundaries-test-instance",
        });
        gateway.OpenAI.DefaultScript = new FakeScript { TextChunks = ["a", "b"], InputTokens = 9, OutputTokens = 2 };
        var request = gateway.NewChat("openai", "hi");
        request.ModelParameters["model.name"] = TestRequests.Param(Google.Protobuf.WellKnownTypes.Value.ForString("boundaries-test-model-2025-01-01"));
        using (var stream = gateway.OpenStream("openai"))
        {
            await stream.SendAsync(request);
            Assert.True((await stream.ReadUntilAsync(ChatStream.IsTerminal)).Success);
            await stream.CompleteAsync();
            await stream.ReadToEndAsync();
        }

        using var http = new HttpClient { DefaultRequestVersion = System.Net.HttpVersion.Version11 };
        var text = await http.GetStringAsync(gateway.HttpAddress + "/metrics").DefaultTimeout();
        double Bucket(string metric, string le, params string[] labels) => PrometheusText.Single(text, metric + "_bucket", [.. labels, $"le={le}"]);

        // Explicit boundaries, from the first to the last, per histogram (not the default 0 … 10000 meant for milliseconds).
        const string ttft = "integration_api_request_time_to_first_token_seconds";
        // (tagged by provider only, these series may be shared with other tests' gateways in the process)
        Assert.NotEmpty(PrometheusText.Values(text, ttft + "_bucket", "provider=openai", "le=0.005"));
        Assert.True(PrometheusText.Values(text, ttft + "_bucket", "provider=openai", "le=60").Sum() >= 1);
        Assert.Empty(PrometheusText.Values(text, ttft + "_bucket", "le=10000"));
        Assert.Equal(1, Bucket("integration_api_request_duration_seconds", "600", "model=boundaries-test-model", "code=200"));
        Assert.Empty(PrometheusText.Values(text, "integration_api_request_duration_seconds_bucket", "model=boundaries-test-model", "le=0.005"));
        Assert.Single(PrometheusText.Values(text, "integration_api_request_duration_seconds_bucket", "model=boundaries-test-model", "le=0.01"));
        Assert.NotEmpty(PrometheusText.Values(text, "integration_api_stream_duration_seconds_bucket", "le=1"));
        Assert.NotEmpty(PrometheusText.Values(text, "integration_api_stream_duration_seconds_bucket", "le=86400"));
        Assert.NotEmpty(PrometheusText.Values(text, "integration_api_stream_requests_bucket", "le=100000"));

        // The GenAI semantic-convention instruments, the model as its allow-listed family.
        string[] genAi = ["gen_ai_operation_name=chat", "gen_ai_provider_name=openai", "gen_ai_request_model=boundaries-test-model"];
        Assert.Equal(1, Bucket("gen_ai_client_token_usage", "16", [.. genAi, "gen_ai_token_type=input"]));
        Assert.Equal(0, Bucket("gen_ai_client_token_usage", "4", [.. genAi, "gen_ai_token_type=input"]));
        Assert.Equal(2, PrometheusText.Single(text, "gen_ai_client_token_usage_sum", [.. genAi, "gen_ai_token_type=output"]));
        Assert.Equal(1, Bucket("gen_ai_client_operation_duration_seconds", "600", genAi));
        Assert.Equal(1, Bucket("gen_ai_server_time_to_first_token_seconds", "60", genAi));
        Assert.DoesNotContain("boundaries-test-model-2025-01-01", text);

        // The resource, as Prometheus's target_info; and the runtime, process, HttpClient and Kestrel instruments.
        Assert.Equal(1, PrometheusText.Single(text, "target_info", "service_name=integration-api", "service_instance_id=boundaries-test-instance"));
        Assert.Matches("target_info\\{[^}]*service_version=\"[^\"]+\"", text);
        Assert.Contains("dotnet_gc_collections_total", text);
        Assert.Contains("process_cpu_time_seconds_total", text);
        Assert.Contains("http_client_request_duration_seconds_bucket", text);
        Assert.Contains("http_server_request_duration_seconds_bucket", text);
        Assert.Contains("kestrel_active_connections", text);
    }

    [Fact]
    public async Task Metrics_ModelTag_OffTheAllowList_IsOther_OnItAsConfigured()
    {
        await using var gateway = await TestGateway.StartAsync(new Dictionary<string, string?>
        {
            ["Metrics:Models:0"] = "Listed-Model",
            ["Metrics:Models:1"] = "family-*",
        });
        using var recorder = new MeasurementRecorder(gateway, "integration_api.requests", "gen_ai.client.operation.duration");
        foreach (var model in new[] { "listed-model", "family-large-2025", "a-model-nobody-listed" })
        {
            var request = gateway.NewChat("openai", "hi");
            request.ModelParameters["model.name"] = TestRequests.Param(Google.Protobuf.WellKnownTypes.Value.ForString(model));
            Assert.True((await gateway.ChatAsync("openai", request)).Success);
        }
        Assert.Equal(["Listed-Model", "family-", "other"], recorder.Of("integration_api.requests").Select(m => m.Tags["model"]));
        Assert.Equal(["Listed-Model", "family-", "other"], recorder.Of("gen_ai.client.operation.duration").Select(m => m.Tags["gen_ai.request.model"]));
        Assert.All(recorder.Of("gen_ai.client.operation.duration"), m => Assert.False(m.Tags.ContainsKey("error.type")));
    }

    [Fact]
    public async Task Metrics_ShippedModelList_TagsCommonFamilies_AndAFailureHasErrorType()
    {
        await using var gateway = await TestGateway.StartAsync();
        using var recorder = new MeasurementRecorder(gateway, "gen_ai.client.operation.duration");
        var request = gateway.NewChat("openai", "hi");
        request.ModelParameters["model.name"] = TestRequests.Param(Google.Protobuf.WellKnownTypes.Value.ForString("gpt-4o-mini-2024-07-18"));
        Assert.True((await gateway.ChatAsync("openai", request)).Success);
        var refused = gateway.NewChat("openai", "hi", key: "bad");
        Assert.Equal(401, (await gateway.ChatAsync("openai", refused)).Code);
        var recorded = recorder.Of("gen_ai.client.operation.duration");
        Assert.Equal("gpt-4o-mini", recorded[0].Tags["gen_ai.request.model"]);
        Assert.Equal("401", recorded[1].Tags["error.type"]);
    }

    [Fact]
    public async Task Metrics_ServiceName_FromOtelServiceName()
    {
        await using var gateway = await TestGateway.StartAsync(new Dictionary<string, string?> { ["OTEL_SERVICE_NAME"] = "integration-api-canary" });
        using var http = new HttpClient { DefaultRequestVersion = System.Net.HttpVersion.Version11 };
        var text = await http.GetStringAsync(gateway.HttpAddress + "/metrics").DefaultTimeout();
        Assert.Equal(1, PrometheusText.Single(text, "target_info", "service_name=integration-api-canary"));
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
