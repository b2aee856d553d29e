using System.Diagnostics.Metrics;
using Google.Protobuf.WellKnownTypes;
using IntegrationApi.Audit;
using IntegrationApi.Pricing;
using IntegrationApi.Testing;
using IntegrationApi.Tests.Infrastructure;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using static IntegrationApi.Tests.Infrastructure.TestRequests;
using Proto = IntegrationApi.Contracts;

namespace IntegrationApi.Tests.Functional;

/// <summary>What each call cost (docs/observability.md#cost): the terminal's COST_USD, the audit column, the counters.</summary>
[Collection(AuditStores.Collection)]
public sealed class CostTests
{
    public static IEnumerable<object[]> Stores => AuditStores.All;

    /// <summary>gpt-4o-mini (the OpenAI fake's model) at made-up prices, reasoning dearer than output so each part shows.</summary>
    private static Dictionary<string, string?> Priced(Dictionary<string, string?> settings)
    {
        settings["Pricing:Providers:openai:gpt-4o-mini:Input"] = "2.5";
        settings["Pricing:Providers:openai:gpt-4o-mini:CachedInput"] = "1.25";
        settings["Pricing:Providers:openai:gpt-4o-mini:Output"] = "10";
        settings["Pricing:Providers:openai:gpt-4o-mini:Reasoning"] = "40";
        settings["Pricing:Providers:anthropic:claude-sonnet-4-5*:Input"] = "3";
        settings["Pricing:Providers:anthropic:claude-sonnet-4-5*:CachedInput"] = "0.3";
        settings["Pricing:Providers:anthropic:claude-sonnet-4-5*:Output"] = "15";
        return settings;
    }

    private static Task<TestGateway> StartAsync(Dictionary<string, string?> settings) =>
        TestGateway.StartAsync(Priced(settings), services: s => s.AddPricing());

    private static readonly FakeScript KnownUsage = new() { InputTokens = 1234, CachedInputTokens = 200, OutputTokens = 567, ReasoningTokens = 100 };

    [Theory, MemberData(nameof(Stores))]
    public async Task KnownTokenCounts_UnaryAndStream_TerminalAuditColumnRpcAndCounterCarryTheCost(string store)
    {
        await using var gateway = await StartAsync(AuditStores.Settings(store)).DefaultTimeout();
        using var cost = new CostWatch(gateway);
        using var written = new CounterWatch(gateway, "integration_api.audit.written");
        gateway.OpenAI.DefaultScript = KnownUsage;

        // (1234 − 200) × 2.5 + 200 × 1.25 + (567 − 100) × 10 + 100 × 40 = 11505 per million tokens.
        var unary = await gateway.ChatAsync("openai", gateway.NewChat("openai", "what does it cost?")).DefaultTimeout();
        Assert.True(unary.Success, unary.Describe());
        Assert.Equal(("1234", "200", "567", "100"), (unary.Metric("INPUT_TOKEN"), unary.Metric("CACHED_INPUT_TOKEN"), unary.Metric("OUTPUT_TOKEN"), unary.Metric("REASONING_TOKEN")));
        Assert.Equal("0.011505", unary.Metric(Proto.MetricNames.CostUsd));

        using var stream = gateway.OpenStream("openai");
        await stream.SendAsync(gateway.NewChat("openai", "and streamed?", "s1"));
        var streamed = (await stream.ReadTerminalsAsync(1)).Single();
        await stream.CompleteAsync();
        Assert.True(streamed.Success, streamed.Describe());
        Assert.Equal("0.011505", streamed.Metric(Proto.MetricNames.CostUsd));

        await written.WhenAtLeast(2).DefaultTimeout();
        foreach (var id in new[] { unary.RequestId, streamed.RequestId })
        {
            Assert.Equal(0.011505m, (await gateway.AuditStore.GetAsync(2, 3, id, CancellationToken.None))!.CostUsd);
            var log = (await new Proto.AuditLoggingService.AuditLoggingServiceClient(gateway.Channel)
                .GetAuditLogAsync(new Proto.GetAuditLogRequest { Id = id }, TestGateway.AuthHeaders()).ResponseAsync.DefaultTimeout()).Data;
            Assert.Equal("0.011505", log.Metrics.Single(m => m.Name == Proto.MetricNames.CostUsd).Value);
        }
        Assert.Equal([("2", "3", "openai", "gpt-4o-mini", 0.011505), ("2", "3", "openai", "gpt-4o-mini", 0.011505)], cost.Costs);
        Assert.Empty(cost.Unpriced);

        // Exported for Prometheus with the service's other instruments.
        using var http = new HttpClient { DefaultRequestVersion = System.Net.HttpVersion.Version11 };
        var text = await http.GetStringAsync(gateway.HttpAddress + "/metrics").DefaultTimeout();
        // The OpenTelemetry SDK listens to every meter of this name in the process, so the /metrics of one test gateway also
        // lists the series of gateways running at the same time (all project 2/3, all pricing gpt-4o-mini), possibly as
        // separate lines: one of them is this gateway's, at least this test's cost.
        var values = System.Text.RegularExpressions.Regex.Matches(text,
                "integration_api_cost_USD_total\\{[^}]*model=\"gpt-4o-mini\",organization=\"2\",project=\"3\",provider=\"openai\"[^}]*\\} ([0-9.eE+-]+)\n")
            .Select(m => double.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture)).ToList();
        Assert.True(values.Any(v => v >= 0.02301 - 1e-9), "cost series in /metrics: " + string.Join(", ", values));
    }

    [Fact]
    public async Task Anthropic_InputIncludesCacheReads_CachedPartBilledAtTheCachedPrice_PrefixKeyMatches()
    {
        await using var gateway = await StartAsync([]).DefaultTimeout();
        using var cost = new CostWatch(gateway);
        gateway.Anthropic.DefaultScript = new FakeScript { InputTokens = 1000, CachedInputTokens = 400, OutputTokens = 300 };
        var answer = await gateway.ChatAsync("anthropic", gateway.NewChat("anthropic", "cached?")).DefaultTimeout();
        Assert.True(answer.Success, answer.Describe());
        Assert.Equal(("1000", "400"), (answer.Metric("INPUT_TOKEN"), answer.Metric("CACHED_INPUT_TOKEN")));
        Assert.Equal("0.00642", answer.Metric(Proto.MetricNames.CostUsd)); // 600 × 3 + 400 × 0.3 + 300 × 15 = 6420 per million
        // The counter is tagged with the table's entry (bounded by the configuration), not the caller's model name.
        Assert.Equal([("2", "3", "anthropic", "claude-sonnet-4-5*", 0.00642)], cost.Costs);
    }

    [Fact]
    public async Task UnknownModel_NoCostAnywhere_CountedAsUnpriced_NeverGuessed()
    {
        await using var gateway = await StartAsync([]).DefaultTimeout();
        using var cost = new CostWatch(gateway);
        using var written = new CounterWatch(gateway, "integration_api.audit.written");
        var request = gateway.NewChat("openai", "priced?");
        request.ModelParameters["model.name"] = Param(Value.ForString("gpt-4o-mini-but-not-in-the-table"));
        var answer = await gateway.ChatAsync("openai", request).DefaultTimeout();
        Assert.True(answer.Success, answer.Describe());
        Assert.Null(answer.Metric(Proto.MetricNames.CostUsd));
        await written.WhenAtLeast(1).DefaultTimeout();
        Assert.Null((await gateway.AuditStore.GetAsync(2, 3, answer.RequestId, CancellationToken.None))!.CostUsd);
        Assert.Equal([("openai", "unknown_model")], cost.Unpriced);
        Assert.Empty(cost.Costs);

        // A failed request has no usage: no cost and nothing counted.
        gateway.OpenAI.Enqueue(FakeScript.Error(400));
        var failed = await gateway.ChatAsync("openai", gateway.NewChat("openai", "fails")).DefaultTimeout();
        Assert.False(failed.Success);
        Assert.Null(failed.Metric(Proto.MetricNames.CostUsd));
        Assert.Single(cost.Unpriced);
    }

    [Theory, MemberData(nameof(Stores))]
    public async Task CostColumnMigration_OldRowsReadWithNoCost_NewRowsKeepTheExactDecimal(string store)
    {
        var settings = AuditStores.Settings(store);
        var sqlitePath = Path.Combine(Path.GetTempPath(), "integration-api-tests", $"audit-cost-{Guid.NewGuid():N}.db");
        settings["Audit:SqlitePath"] = sqlitePath;
        var options = new AuditOptions { Store = store, SqlitePath = sqlitePath, PostgresConnectionString = settings.GetValueOrDefault("Audit:PostgresConnectionString") ?? "" };
        var old = new SqlAuditStore(Options.Create(options), new Environment());
        await old.MigrateAsync(3, CancellationToken.None).DefaultTimeout(); // the schema before cost_usd
        await using (var connection = Storage.SqlDialect.For(options.PostgresOrNull, options.SqlitePath, new Environment()).Connect())
        {
            await connection.OpenAsync();
            await using var insert = connection.CreateCommand();
            insert.CommandText = """
                INSERT INTO audit_records (request_id, created_at, organization_id, project_id, credential_id, provider, model, status, code,
                    finish_reason, time_taken_ns, ttft_ns, input_tokens, output_tokens, total_tokens, metadata)
                VALUES (100, '2025-01-02T03:04:05.0000000+00:00', 2, 3, 42, 'openai', 'gpt-4o-mini', 'SUCCESS', 200, 'stop', 1000, 500, 9, 3, 12, '{}')
                """;
            Assert.Equal(1, await insert.ExecuteNonQueryAsync());
        }

        await using var gateway = await StartAsync(settings).DefaultTimeout(); // applies the cost_usd migration
        await gateway.AuditStore.WriteAsync([Unit.AuditSpoolTests.Record(200) with { CostUsd = 0.000123456789m }], CancellationToken.None).DefaultTimeout();
        Assert.Null((await gateway.AuditStore.GetAsync(2, 3, 100, CancellationToken.None))!.CostUsd);
        Assert.Equal(0.000123456789m, (await gateway.AuditStore.GetAsync(2, 3, 200, CancellationToken.None))!.CostUsd);
        var (page, _) = await gateway.AuditStore.QueryAsync(new AuditQuery(2, 3, new Dictionary<AuditField, string>(), 0, 10), CancellationToken.None);
        Assert.Equal([0.000123456789m, null], page.Select(r => r.CostUsd));
        var log = (await new Proto.AuditLoggingService.AuditLoggingServiceClient(gateway.Channel)
            .GetAuditLogAsync(new Proto.GetAuditLogRequest { Id = 200 }, TestGateway.AuthHeaders()).ResponseAsync.DefaultTimeout()).Data;
        Assert.Equal("0.00012346", log.Metrics.Single(m => m.Name == Proto.MetricNames.CostUsd).Value);
    }

    [Fact]
    public async Task Budget_SpentForTheDay_NextRequestsGet429NamingIt_OtherProjectsGoOn_NextDayResets()
    {
        var time = new ShiftedTimeProvider();
        var settings = Priced([]);
        settings["Budgets:Projects:0:OrganizationId"] = "2";
        settings["Budgets:Projects:0:ProjectId"] = "3";
        settings["Budgets:Projects:0:LimitUsd"] = "0.02";
        settings["Budgets:Projects:0:Period"] = "Day";
        await using var gateway = await TestGateway.StartAsync(settings, time, s => s.AddPricing()).DefaultTimeout();
        gateway.OpenAI.DefaultScript = KnownUsage; // 0.011505 each

        for (var i = 0; i < 2; i++) // under the limit when each starts; the second ends over it
            Assert.True((await gateway.ChatAsync("openai", gateway.NewChat("openai", "spend"))).Success);
        var refused = await gateway.ChatAsync("openai", gateway.NewChat("openai", "one more")).DefaultTimeout();
        Assert.Equal(429, refused.Code);
        Assert.Matches(@"^project 3 has spent its daily budget \(\$0\.02301 of \$0\.02\); it resets at \d{4}-\d{2}-\d{2}T00:00:00Z$", refused.Error.ErrorMessage);
        Assert.Contains("spending limit", refused.Error.HumanMessage, StringComparison.Ordinal);
        var requestsBefore = gateway.OpenAI.Requests.Count;

        using (var stream = gateway.OpenStream("openai"))
        {
            await stream.SendAsync(gateway.NewChat("openai", "streamed", "s1"));
            Assert.Equal(429, (await stream.ReadTerminalsAsync(1)).Single().Code);
            await stream.CompleteAsync();
        }
        Assert.Equal(requestsBefore, gateway.OpenAI.Requests.Count); // refused before any upstream call

        var otherProject = new Grpc.Core.Metadata { { "x-api-key", TestGateway.ApiKey } }; // organization 7, project 8: no budget
        Assert.True((await gateway.ChatAsync("openai", gateway.NewChat("openai", "mine"), otherProject).DefaultTimeout()).Success);

        time.Offset = TimeSpan.FromDays(1);
        Assert.True((await gateway.ChatAsync("openai", gateway.NewChat("openai", "a new day"), TestGateway.AuthHeaders(DateTimeOffset.UtcNow.AddDays(2))).DefaultTimeout()).Success);
    }

    [Fact]
    public void NegativePrice_RefusedAtStart_NamingTheSetting()
    {
        var error = Assert.ThrowsAny<OptionsValidationException>(() => IntegrationApiApp.Create(["--environment", "Testing", "--hostBuilder:reloadConfigOnChange=false"], builder =>
        {
            builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?> { ["Pricing:Providers:openai:gpt-4o:Output"] = "-10" });
            builder.Logging.ClearProviders();
            builder.Services.AddPricing();
        }));
        Assert.Contains("Pricing:Providers:openai:gpt-4o:Output must be between 0 and 10000", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ShippedPriceTable_Validates_AndPricesTheCommonModels()
    {
        var app = IntegrationApiApp.Create(["--environment", "Testing", "--hostBuilder:reloadConfigOnChange=false"], builder =>
        {
            builder.Logging.ClearProviders();
            builder.Services.AddPricing();
        });
        var options = app.Services.GetRequiredService<IOptions<PricingOptions>>().Value;
        Assert.Matches(@"^\d{4}-\d{2}-\d{2}$", options.AsOf);
        Assert.Contains("keep this table current", options.Note, StringComparison.Ordinal);
        var table = app.Services.GetRequiredService<PriceTable>();
        Assert.Equal(new Price(2.5m, 1.25m, 2.5m, 10m, 10m), table.Find("openai", "gpt-4o"));
        Assert.Equal(0.4m, table.Find("openai", "gpt-4.1-mini-2025-04-14")!.Input);
        Assert.Equal(new Price(3m, 0.3m, 3.75m, 15m, 15m), table.Find("anthropic", "claude-sonnet-4-5-20250929"));
        Assert.Null(table.Find("openai", "gpt-4o-mini-but-not-in-the-table"));
    }

    private sealed class Environment : Microsoft.Extensions.Hosting.IHostEnvironment
    {
        public string EnvironmentName { get; set; } = "Testing";
        public string ApplicationName { get; set; } = "IntegrationApi.Tests";
        public string ContentRootPath { get; set; } = Path.GetTempPath();
        public Microsoft.Extensions.FileProviders.IFileProvider ContentRootFileProvider { get; set; } = new Microsoft.Extensions.FileProviders.NullFileProvider();
    }

    /// <summary>The two cost instruments of one gateway, as recorded.</summary>
    private sealed class CostWatch : IDisposable
    {
        private readonly MeterListener _listener = new();
        private readonly Lock _gate = new();
        private readonly List<(string, string, string, string, double)> _costs = [];
        private readonly List<(string, string)> _unpriced = [];

        public CostWatch(TestGateway gateway)
        {
            var factory = gateway.App.Services.GetRequiredService<IMeterFactory>();
            _listener.InstrumentPublished = (i, listener) =>
            {
                if (ReferenceEquals(i.Meter.Scope, factory) && i.Meter.Name == CallPricer.MeterName && i.Name.StartsWith("integration_api.cost", StringComparison.Ordinal))
                    listener.EnableMeasurementEvents(i);
            };
            _listener.SetMeasurementEventCallback<double>((_, value, tags, _) =>
            {
                lock (_gate) _costs.Add((Tag(tags, "organization"), Tag(tags, "project"), Tag(tags, "provider"), Tag(tags, "model"), value));
            });
            _listener.SetMeasurementEventCallback<long>((_, _, tags, _) =>
            {
                lock (_gate) _unpriced.Add((Tag(tags, "provider"), Tag(tags, "reason")));
            });
            _listener.Start();
        }

        private static string Tag(ReadOnlySpan<KeyValuePair<string, object?>> tags, string key)
        {
            foreach (var tag in tags) if (tag.Key == key) return (string)tag.Value!;
            return "";
        }

        public List<(string, string, string, string, double)> Costs { get { lock (_gate) return [.. _costs]; } }
        public List<(string, string)> Unpriced { get { lock (_gate) return [.. _unpriced]; } }

        public void Dispose() => _listener.Dispose();
    }
}
