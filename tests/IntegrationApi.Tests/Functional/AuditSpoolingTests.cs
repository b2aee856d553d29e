using IntegrationApi.Audit;
using IntegrationApi.Tests.Infrastructure;
using Microsoft.Data.Sqlite;

namespace IntegrationApi.Tests.Functional;

/// <summary>
/// The local spool with the embedded store, no PostgreSQL needed: the store file is really broken on disk (moved aside
/// and replaced by bytes that are not a database) while the service serves, and put back later.
/// </summary>
public sealed class AuditSpoolingTests
{
    private static string TempFile(string name) =>
        Path.Combine(Path.GetTempPath(), "integration-api-tests", $"{name}-{Guid.NewGuid():N}.db");

    private static Dictionary<string, string?> Settings(string db, string spool) => new()
    {
        ["Audit:SqlitePath"] = db,
        ["Audit:SpoolPath"] = spool,
        ["Audit:SpoolAfter"] = "00:00:00",        // the first refused write goes to the spool
        ["Audit:MaxRetryDelay"] = "00:00:00.050",
    };

    private static readonly string[] SqliteSuffixes = ["", "-wal", "-shm"];

    /// <summary>The store's file replaced by one that is not a database: every write fails ("file is not a database").</summary>
    private static void BreakStore(string db)
    {
        SqliteConnection.ClearAllPools(); // no pooled connection keeps the good file open
        foreach (var suffix in SqliteSuffixes) if (File.Exists(db + suffix)) File.Move(db + suffix, db + ".aside" + suffix);
        File.WriteAllBytes(db, Enumerable.Repeat((byte)'x', 4096).ToArray());
    }

    private static void RepairStore(string db)
    {
        File.Delete(db);
        foreach (var suffix in SqliteSuffixes) if (File.Exists(db + ".aside" + suffix)) File.Move(db + ".aside" + suffix, db + suffix);
        SqliteConnection.ClearAllPools(); // nor one opened on the broken file
    }

    private static async Task SendAsync(TestGateway gateway, int count)
    {
        for (var start = 0; start < count; start += 50)
        {
            var answers = await Task.WhenAll(Enumerable.Range(start, Math.Min(50, count - start))
                .Select(i => gateway.ChatAsync("openai", gateway.NewChat("openai", $"r{i}")))).DefaultTimeout();
            Assert.All(answers, a => Assert.True(a.Success, a.Describe())); // serving never depends on the store
        }
    }

    private static bool IsLoss((Microsoft.Extensions.Logging.LogLevel Level, string Category, string Message) entry) =>
        entry.Message.Contains("lost", StringComparison.OrdinalIgnoreCase) || entry.Message.Contains("dropped", StringComparison.OrdinalIgnoreCase);

    [Fact]
    public async Task StoreBroken_RecordsSpooled_NextInstanceDeliversThemAtStart_NoneLost()
    {
        var (db, spool) = (TempFile("audit"), TempFile("spool"));
        const int requests = 300;
        await using (var first = await TestGateway.StartAsync(Settings(db, spool)).DefaultTimeout())
        {
            using var spooled = new CounterWatch(first, "integration_api.audit.spooled");
            BreakStore(db);
            await SendAsync(first, requests);
            await first.App.StopAsync().DefaultTimeout(); // whatever was still buffered is spooled at shutdown
            Assert.Equal(requests, spooled.Total);
            Assert.DoesNotContain(first.Logs.Entries, IsLoss);
            Assert.Contains(first.Logs.Entries, e => e.Message.StartsWith("Audit store unavailable", StringComparison.Ordinal));
        }
        Assert.Equal(requests, new AuditSpool(spool).Count());

        RepairStore(db);
        await using var second = await TestGateway.StartAsync(Settings(db, spool)).DefaultTimeout();
        Assert.Equal(requests, await second.AuditStore.CountAsync(2, 3, CancellationToken.None).DefaultTimeout()); // delivered before serving
        Assert.Equal(0, new AuditSpool(spool).Count());
    }

    [Fact]
    public async Task StoreBackWhileRunning_SpoolDeliveredWithoutNewTraffic()
    {
        var (db, spool) = (TempFile("audit"), TempFile("spool"));
        const int requests = 120;
        await using var gateway = await TestGateway.StartAsync(Settings(db, spool)).DefaultTimeout();
        using var spooled = new CounterWatch(gateway, "integration_api.audit.spooled");
        using var redelivered = new CounterWatch(gateway, "integration_api.audit.redelivered");
        BreakStore(db);
        await SendAsync(gateway, requests);
        await spooled.WhenAtLeast(requests).DefaultTimeout();

        RepairStore(db);
        await redelivered.WhenAtLeast(requests).DefaultTimeout(); // the writer tries the store again on its own

        Assert.Equal(requests, await gateway.AuditStore.CountAsync(2, 3, CancellationToken.None).DefaultTimeout());
        Assert.Equal(0, new AuditSpool(spool).Count());
        Assert.Contains(gateway.Logs.Entries, e => e.Message.Contains("spooled audit records delivered", StringComparison.Ordinal));
    }

    [Fact]
    public async Task SpoolLeftByAnEarlierRun_DeliveredAtStart_RecordsAlreadyStoredNotDuplicated()
    {
        var (db, spool) = (TempFile("audit"), TempFile("spool"));
        AuditRecord stored;
        await using (var first = await TestGateway.StartAsync(Settings(db, spool)).DefaultTimeout())
        {
            await SendAsync(first, 1);
            await first.App.StopAsync().DefaultTimeout();
            stored = Assert.Single(await first.AuditStore.ListAsync(2, 3, 0, 10, CancellationToken.None).DefaultTimeout());
        }
        // A crash between the store's commit and the spool's delete leaves a record in both.
        var left = new AuditSpool(spool);
        left.Append([stored, Unit.AuditSpoolTests.Record(1), Unit.AuditSpoolTests.Record(2)]);
        left.Append([Unit.AuditSpoolTests.Record(2)]);

        await using var second = await TestGateway.StartAsync(Settings(db, spool)).DefaultTimeout();

        var records = await second.AuditStore.ListAsync(2, 3, 0, 10, CancellationToken.None).DefaultTimeout();
        Assert.Equal([stored.RequestId, 2UL, 1UL], records.Select(r => r.RequestId));
        Assert.Equal(("gpt-4o-mini", 200, 1001L), (records[2].Model, records[2].Code, records[2].TimeTakenNs));
        Assert.Equal(0, new AuditSpool(spool).Count());
        Assert.Contains(second.Logs.Entries, e => e.Message.StartsWith("3 audit records waiting in the spool", StringComparison.Ordinal));
    }

    [Fact]
    public async Task StoreAndSpoolBothFail_RecordsCountedAsDroppedAndLoggedAtError()
    {
        var db = TempFile("audit");
        var notADirectory = TempFile("blocker");
        Directory.CreateDirectory(Path.GetDirectoryName(notADirectory)!);
        File.WriteAllText(notADirectory, "a file where the spool's directory would be");
        const int requests = 20;
        await using var gateway = await TestGateway.StartAsync(Settings(db, Path.Combine(notADirectory, "spool.db"))).DefaultTimeout();
        gateway.AllowErrorLogs = true;
        using var dropped = new CounterWatch(gateway, "integration_api.audit.dropped");
        BreakStore(db);
        try
        {
            await SendAsync(gateway, requests);
            await dropped.WhenAtLeast(requests).DefaultTimeout();
        }
        finally
        {
            RepairStore(db);
        }
        var errors = gateway.Logs.Entries.Where(e => e.Level == Microsoft.Extensions.Logging.LogLevel.Error).ToArray();
        Assert.True(errors.Length > 0, string.Join("\n", gateway.Logs.Entries.Where(e => e.Category.Contains("Audit", StringComparison.Ordinal)).Select(e => e.Level + " " + e.Message)));
        Assert.All(errors, e => Assert.Contains("audit records lost", e.Message, StringComparison.Ordinal));
    }
}
