using Google.Protobuf.WellKnownTypes;
using IntegrationApi.Audit;
using IntegrationApi.Testing;
using IntegrationApi.Tests.Infrastructure;
using Microsoft.Extensions.Options;
using static IntegrationApi.Tests.Infrastructure.TestRequests;
using Proto = IntegrationApi.Contracts;

namespace IntegrationApi.Tests.Functional;

/// <summary>Every audit record lists the targets its request ran on (docs/contract.md §9); older records read with none.</summary>
[Collection(AuditStores.Collection)]
public sealed class AuditAttemptsTests
{
    public static IEnumerable<object[]> Stores => AuditStores.All;

    private static readonly AuditAttempt[] TwoAttempts =
    [
        new("openai", "gpt-4o-mini", AuditAttempt.Failed, 503, null, 1_200_000, 3),
        new("anthropic", "claude-x", AuditAttempt.Succeeded, 200, 40_000_000, 90_000_000, 1),
    ];

    private sealed class Environment : Microsoft.Extensions.Hosting.IHostEnvironment
    {
        public string EnvironmentName { get; set; } = "Testing";
        public string ApplicationName { get; set; } = "IntegrationApi.Tests";
        public string ContentRootPath { get; set; } = Path.GetTempPath();
        public Microsoft.Extensions.FileProviders.IFileProvider ContentRootFileProvider { get; set; } = new Microsoft.Extensions.FileProviders.NullFileProvider();
    }

    private static Proto.AuditLoggingService.AuditLoggingServiceClient Client(TestGateway gateway) => new(gateway.Channel);

    private static string? MetadataOf(Proto.AuditLog log, string key) => log.ExternalAuditMetadatas.SingleOrDefault(m => m.Key == key)?.Value;

    private static string? MetricOf(Proto.AuditLog log, string name) => log.Metrics.SingleOrDefault(m => m.Name == name)?.Value;

    [Theory, MemberData(nameof(Stores))]
    public async Task OldSchemaMigratedAtStart_ItsRowsReadWithNoAttempts_NewRecordsRoundTripThroughStoreAndRpcs(string store)
    {
        var settings = AuditStores.Settings(store);
        var sqlitePath = Path.Combine(Path.GetTempPath(), "integration-api-tests", $"audit-old-{Guid.NewGuid():N}.db");
        settings["Audit:SqlitePath"] = sqlitePath;
        var options = new AuditOptions
        {
            Store = store, SqlitePath = sqlitePath,
            PostgresConnectionString = settings.GetValueOrDefault("Audit:PostgresConnectionString") ?? "",
        };
        // The schema as the build before attempts left it (version 2), holding a record that build wrote.
        var environment = new Environment();
        await new SqlAuditStore(Options.Create(options), environment).MigrateAsync(2, CancellationToken.None).DefaultTimeout();
        await using (var connection = Storage.SqlDialect.For(options.PostgresOrNull, options.SqlitePath, environment).Connect())
        {
            await connection.OpenAsync();
            await using var insert = connection.CreateCommand();
            insert.CommandText = """
                INSERT INTO audit_records (request_id, created_at, organization_id, project_id, credential_id, provider, model, status, code,
                    finish_reason, time_taken_ns, ttft_ns, input_tokens, output_tokens, total_tokens, metadata, request_json, response_json)
                VALUES (100, '2025-01-02T03:04:05.0000000+00:00', 2, 3, 42, 'openai', 'gpt-4o-mini', 'SUCCESS', 200, 'stop', 1000, 500, 9, 3, 12,
                    '{"provider_name":"openai"}', NULL, NULL)
                """;
            Assert.Equal(1, await insert.ExecuteNonQueryAsync());
        }

        await using var gateway = await TestGateway.StartAsync(settings).DefaultTimeout(); // applies the attempts migration
        await gateway.AuditStore.WriteAsync([Unit.AuditSpoolTests.Record(200) with { Attempts = TwoAttempts }], CancellationToken.None).DefaultTimeout();

        var old = await gateway.AuditStore.GetAsync(2, 3, 100, CancellationToken.None);
        Assert.Equal((200, 1000L), (old!.Code, old.TimeTakenNs));
        Assert.Empty(old.Attempts);
        Assert.Equal(TwoAttempts, (await gateway.AuditStore.GetAsync(2, 3, 200, CancellationToken.None))!.Attempts);
        var (page, total) = await gateway.AuditStore.QueryAsync(new AuditQuery(2, 3, new Dictionary<AuditField, string>(), 0, 10), CancellationToken.None);
        Assert.Equal(2, total);
        Assert.Equal([2, 0], page.Select(r => r.Attempts.Count));

        var client = Client(gateway);
        var withAttempts = (await client.GetAuditLogAsync(new Proto.GetAuditLogRequest { Id = 200 }, TestGateway.AuthHeaders()).ResponseAsync.DefaultTimeout()).Data;
        const string json = """[{"provider":"openai","model":"gpt-4o-mini","result":"failed","code":503,"ttft_ns":null,"elapsed_ns":1200000,"tries":3},""" +
            """{"provider":"anthropic","model":"claude-x","result":"succeeded","code":200,"ttft_ns":40000000,"elapsed_ns":90000000,"tries":1}]""";
        Assert.Equal(json, MetadataOf(withAttempts, "attempts"));
        Assert.Equal(("anthropic", "claude-x", "2"), (MetricOf(withAttempts, "PROVIDER_NAME"), MetricOf(withAttempts, "MODEL_NAME"), MetricOf(withAttempts, "ATTEMPTS")));
        var before = (await client.GetAuditLogAsync(new Proto.GetAuditLogRequest { Id = 100 }, TestGateway.AuthHeaders()).ResponseAsync.DefaultTimeout()).Data;
        Assert.Equal("openai", MetadataOf(before, "provider_name"));
        Assert.Null(MetadataOf(before, "attempts"));
        Assert.DoesNotContain(before.Metrics, m => m.Name is "PROVIDER_NAME" or "MODEL_NAME" or "ATTEMPTS");
        var all = (await client.GetAllAuditLogAsync(new Proto.GetAllAuditLogRequest(), TestGateway.AuthHeaders()).ResponseAsync.DefaultTimeout()).Data;
        Assert.Equal([json, null], all.Select(l => MetadataOf(l, "attempts")));

        // Caller metadata never replaces them, and merging keeps them.
        foreach (var key in new[] { "attempts", "Attempts" })
        {
            var refused = await client.CreateMetadataAsync(new Proto.CreateMetadataRequest { Id = 200, AdditionalData = { [key] = "[]" } }, TestGateway.AuthHeaders()).ResponseAsync.DefaultTimeout();
            Assert.Equal(400, refused.Code);
            Assert.Contains($"\"{key}\" is reserved", refused.Error.ErrorMessage, StringComparison.Ordinal);
        }
        var tagged = await client.CreateMetadataAsync(new Proto.CreateMetadataRequest { Id = 200, AdditionalData = { ["reviewed"] = "yes" } }, TestGateway.AuthHeaders()).ResponseAsync.DefaultTimeout();
        Assert.Equal((json, "yes"), (MetadataOf(tagged.Data, "attempts"), MetadataOf(tagged.Data, "reviewed")));
        Assert.Equal(TwoAttempts, (await gateway.AuditStore.GetAsync(2, 3, 200, CancellationToken.None))!.Attempts);
    }

    [Theory, MemberData(nameof(Stores))]
    public async Task PrimaryFailsThenFallbackAnswers_OneRecordListingBothAttempts_TheRpcShowsThemAndTheTerminalsMetrics(string store)
    {
        await using var gateway = await TestGateway.StartAsync(AuditStores.Settings(store)).DefaultTimeout();
        using var written = new CounterWatch(gateway, "integration_api.audit.written");
        for (var i = 0; i < 3; i++) gateway.OpenAI.Enqueue(FakeScript.Error(503)); // the primary and its two retries
        var request = gateway.NewChat("openai", "fall back");
        request.AdditionalData["attempts"] = "forged"; // the service's key: dropped from the caller's metadata
        request.Fallbacks.Add(new Proto.ChatTarget { ModelParameters = { ["model.name"] = Param(Value.ForString("other-model")) } });
        var answer = await gateway.ChatAsync("openai", request).DefaultTimeout();
        Assert.True(answer.Success, answer.Describe());
        var badRole = gateway.NewChat("openai", "refused before it ran");
        badRole.Conversations[0].Role = "wizard";
        var refused = await gateway.ChatAsync("openai", badRole).DefaultTimeout();
        Assert.Equal(400, refused.Code);
        await written.WhenAtLeast(2).DefaultTimeout();

        var record = (await gateway.AuditStore.GetAsync(2, 3, answer.RequestId, CancellationToken.None))!;
        Assert.Equal(2, await gateway.AuditStore.CountAsync(2, 3, CancellationToken.None)); // one record per request
        Assert.Equal(2, record.Attempts.Count);
        var (failed, succeeded) = (record.Attempts[0], record.Attempts[1]);
        Assert.Equal(("openai", "gpt-4o-mini", "failed", 503, (long?)null, 3), (failed.Provider, failed.Model, failed.Result, failed.Code, failed.TimeToFirstTokenNs, failed.Tries));
        Assert.Equal(("openai", "other-model", "succeeded", 200, 1), (succeeded.Provider, succeeded.Model, succeeded.Result, succeeded.Code, succeeded.Tries));
        Assert.True(failed.ElapsedNs > 0 && succeeded.ElapsedNs > 0, $"{failed.ElapsedNs} {succeeded.ElapsedNs}");
        Assert.Equal(record.TimeToFirstTokenNs, succeeded.TimeToFirstTokenNs);
        Assert.Equal(("openai", "gpt-4o-mini", 200), (record.Provider, record.Model, record.Code)); // the request's own target
        Assert.False(record.Metadata.ContainsKey("attempts"));
        Assert.Empty((await gateway.AuditStore.GetAsync(2, 3, refused.RequestId, CancellationToken.None))!.Attempts);

        var log = (await Client(gateway).GetAuditLogAsync(new Proto.GetAuditLogRequest { Id = answer.RequestId }, TestGateway.AuthHeaders()).ResponseAsync.DefaultTimeout()).Data;
        Assert.Equal(ExpectedJson(record.Attempts), MetadataOf(log, "attempts"));
        Assert.Single(log.ExternalAuditMetadatas, m => m.Key == "attempts");
        foreach (var name in new[] { "PROVIDER_NAME", "MODEL_NAME", "ATTEMPTS" })
            Assert.Equal(answer.Metrics.Single(m => m.Name == name).Value, MetricOf(log, name)); // as on the terminal
        Assert.Equal(("openai", "other-model", "2"), (MetricOf(log, "PROVIDER_NAME"), MetricOf(log, "MODEL_NAME"), MetricOf(log, "ATTEMPTS")));

        var refusedLog = (await Client(gateway).GetAuditLogAsync(new Proto.GetAuditLogRequest { Id = refused.RequestId }, TestGateway.AuthHeaders()).ResponseAsync.DefaultTimeout()).Data;
        Assert.Null(MetadataOf(refusedLog, "attempts"));
        Assert.DoesNotContain(refusedLog.Metrics, m => m.Name is "PROVIDER_NAME" or "MODEL_NAME" or "ATTEMPTS");
    }

    /// <summary>The attempts' JSON, spelled out field by field (not through the code under test).</summary>
    private static string ExpectedJson(IReadOnlyList<AuditAttempt> a) => "[" + string.Join(",", a.Select(x =>
        $$"""{"provider":"{{x.Provider}}","model":"{{x.Model}}","result":"{{x.Result}}","code":{{x.Code}},"ttft_ns":{{(x.TimeToFirstTokenNs is { } t ? t.ToString(System.Globalization.CultureInfo.InvariantCulture) : "null")}},"elapsed_ns":{{x.ElapsedNs.ToString(System.Globalization.CultureInfo.InvariantCulture)}},"tries":{{x.Tries}}}""")) + "]";
}
