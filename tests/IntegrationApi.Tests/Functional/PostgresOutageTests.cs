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

    private static void Cluster(string action)
    {
        var parts = Environment.GetEnvironmentVariable("INTEGRATION_API_TEST_PG_CLUSTER")!.Split(' ');
        using var process = Process.Start(new ProcessStartInfo("pg_ctlcluster", [parts[0], parts[1], action, "-m", "fast"]) { RedirectStandardOutput = true, RedirectStandardError = true })!;
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
