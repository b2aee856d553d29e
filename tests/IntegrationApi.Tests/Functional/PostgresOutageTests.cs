using System.Diagnostics;
using IntegrationApi.Tests.Infrastructure;
using Npgsql;

namespace IntegrationApi.Tests.Functional;

/// <summary>
/// A real PostgreSQL going away under load: the database stopped and started again, the store's connections
/// killed. The service keeps answering and no record is lost. Generated only where .ci/run (or a developer)
/// provides a PostgreSQL cluster the tests may stop (<c>INTEGRATION_API_TEST_PG_CLUSTER="15 main"</c>).
/// </summary>
[Collection(AuditStores.Collection)]
public sealed class PostgresOutageTests
{
    private static bool ClusterAvailable => Environment.GetEnvironmentVariable("INTEGRATION_API_TEST_PG_CLUSTER") is { Length: > 0 }
        && Environment.GetEnvironmentVariable(AuditStores.PostgresVariable) is { Length: > 0 };

    [SkippableTheory]
    [InlineData("restart")]
    [InlineData("kill-connections")]
    public async Task DatabaseOutageMidLoad_EveryRequestStillGetsItsRecord(string outage)
    {
        Skip.IfNot(ClusterAvailable, "no PostgreSQL cluster to stop (.ci/run provides one)");
        var settings = AuditStores.Settings("postgres");
        settings["Audit:MaxRetryDelay"] = "00:00:00.200";
        settings["Audit:BatchSize"] = "5";
        settings["Audit:SpoolAfter"] = "00:00:00.200"; // a batch still refused goes to the spool, delivered once the database is back
        await using var gateway = await TestGateway.StartAsync(settings);
        const int perPhase = 15;
        async Task LoadAsync(string phase)
        {
            var answers = await Task.WhenAll(Enumerable.Range(0, perPhase).Select(i => gateway.ChatAsync("openai", gateway.NewChat("openai", $"{phase} {i}"))));
            Assert.All(answers, a => Assert.True(a.Success, a.Describe())); // serving never depends on the store
        }

        await LoadAsync("before");
        if (outage == "restart")
        {
            Cluster("stop");
            try { await LoadAsync("during"); }
            finally { Cluster("start"); }
        }
        else
        {
            await LoadAsync("during");
            await using var admin = new NpgsqlConnection(Environment.GetEnvironmentVariable(AuditStores.PostgresVariable));
            await admin.OpenAsync();
            await using var kill = new NpgsqlCommand("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE pid <> pg_backend_pid() AND datname = current_database()", admin);
            await kill.ExecuteScalarAsync();
        }
        await LoadAsync("after");
        await gateway.App.StopAsync(); // drains the buffer once the database answers again

        Assert.Equal(3 * perPhase, await gateway.AuditStore.CountAsync(2, 3, CancellationToken.None));
        if (outage == "restart") // the outage was real: writes failed and were retried
            Assert.Contains(gateway.Logs.Entries, e => e.Message.StartsWith("Writing", StringComparison.Ordinal) && e.Message.Contains("failed"));
    }

    [SkippableFact]
    public async Task DatabaseDownAtShutdown_RecordsSpooled_NextInstanceDeliversThem_CountEqualsRequests()
    {
        Skip.IfNot(ClusterAvailable, "no PostgreSQL cluster to stop (.ci/run provides one)");
        var settings = AuditStores.Settings("postgres"); // one schema for both instances
        settings["Audit:SpoolPath"] = Path.Combine(Path.GetTempPath(), "integration-api-tests", $"spool-{Guid.NewGuid():N}.db");
        settings["Audit:MaxRetryDelay"] = "00:00:00.200";
        const int requests = 2000;
        await using (var first = await TestGateway.StartAsync(settings).DefaultTimeout())
        {
            using var spooled = new CounterWatch(first, "integration_api.audit.spooled");
            using var written = new CounterWatch(first, "integration_api.audit.written");
            // One call while the database is up: the API key store (Auth) opens the database when the first call
            // resolves it, and with the database down then, every call would fail.
            Assert.True((await first.ChatAsync("openai", first.NewChat("openai", "warm-up")).DefaultTimeout()).Success);
            await written.WhenAtLeast(1).DefaultTimeout();
            Cluster("stop");
            try
            {
                for (var start = 0; start < requests; start += 200)
                {
                    var answers = await Task.WhenAll(Enumerable.Range(start, 200)
                        .Select(i => first.ChatAsync("openai", first.NewChat("openai", $"r{i}")))).DefaultTimeout();
                    Assert.All(answers, a => Assert.True(a.Success, a.Describe())); // serving never depends on the store
                }
                await first.App.StopAsync().DefaultTimeout(); // the database is still down: the buffer goes to the spool
            }
            finally { Cluster("start"); }
            Assert.Equal(requests, spooled.Total);
            Assert.DoesNotContain(first.Logs.Entries, e => e.Message.Contains("lost", StringComparison.OrdinalIgnoreCase)
                || e.Message.Contains("dropped", StringComparison.OrdinalIgnoreCase));
            Assert.Equal(1, await first.AuditStore.CountAsync(2, 3, CancellationToken.None).DefaultTimeout());
        }

        await using var second = await TestGateway.StartAsync(settings).DefaultTimeout(); // same spool, same database
        Assert.Equal(1 + requests, await second.AuditStore.CountAsync(2, 3, CancellationToken.None).DefaultTimeout());
        Assert.Equal(0, new Audit.AuditSpool(settings["Audit:SpoolPath"]!).Count());
    }

    private static void Cluster(string action)
    {
        var parts = Environment.GetEnvironmentVariable("INTEGRATION_API_TEST_PG_CLUSTER")!.Split(' ');
        // Through bash closing every inherited descriptor past stderr: the server started here outlives the test run and
        // must not keep open what the test runner inherited (a build lock held by `flock … dotnet test` would stay locked).
        const string CloseInheritedThenRun = """for fd in $(ls /proc/$$/fd); do [ "$fd" -gt 2 ] && eval "exec $fd>&-"; done; exec pg_ctlcluster "$@" """;
        using var process = Process.Start(new ProcessStartInfo("bash", ["-c", CloseInheritedThenRun, "bash", parts[0], parts[1], action, "-m", "fast"])
        {
            RedirectStandardOutput = true, RedirectStandardError = true,
        })!;
        process.WaitForExit(60_000);
        if (action == "start")
        {
            // Wait (bounded) until it accepts connections again.
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
            while (DateTime.UtcNow < deadline)
            {
                try
                {
                    using var c = new NpgsqlConnection(Environment.GetEnvironmentVariable(AuditStores.PostgresVariable));
                    c.Open();
                    return;
                }
                catch (NpgsqlException) { Thread.Sleep(200); }
            }
        }
    }
}
