using IntegrationApi.Audit;

namespace IntegrationApi.Tests.Unit;

/// <summary>The local spool on its own: durable across instances, oldest first, keyed by request id.</summary>
public sealed class AuditSpoolTests : IDisposable
{
    private readonly string _path = Path.Combine(Path.GetTempPath(), "integration-api-tests", $"spool-unit-{Guid.NewGuid():N}.db");

    public static AuditRecord Record(ulong id, string note = "") => new()
    {
        RequestId = id,
        CreatedAt = new DateTimeOffset(2025, 1, 2, 3, 4, 5, TimeSpan.Zero).AddSeconds(id),
        OrganizationId = 2,
        ProjectId = 3,
        CredentialId = 42,
        Provider = "openai",
        Model = "gpt-4o-mini",
        Status = "SUCCESS",
        Code = 200,
        FinishReason = "stop",
        TimeTakenNs = 1_000 + (long)id,
        TimeToFirstTokenNs = 500,
        InputTokens = 9,
        OutputTokens = 3,
        TotalTokens = 12,
        Metadata = new Dictionary<string, string> { ["provider_name"] = "openai", ["note"] = note },
        RequestJson = "{\"prompt\":\"x\"}",
    };

    [Fact]
    public void AppendReopenReadRemove_RecordsSurviveTheInstance_OldestFirst_DuplicatesKeptOnce()
    {
        var spool = new AuditSpool(_path);
        spool.Append([Record(30, "c"), Record(10, "a"), Record(20, "b")]);
        spool.Append([Record(20, "b again")]); // the same request spooled twice (e.g. a retried shutdown)
        Assert.Equal(3, spool.Pending);

        var reopened = new AuditSpool(_path); // the next run of the service
        Assert.Equal(3, reopened.Count());
        var first = reopened.Read(2);
        Assert.Equal([10UL, 20UL], first.Select(r => r.RequestId));
        var a = first[0];
        Assert.Equal((2UL, 3UL, 42UL, "openai", "gpt-4o-mini", "SUCCESS", 200, "stop"), (a.OrganizationId, a.ProjectId, a.CredentialId, a.Provider, a.Model, a.Status, a.Code, a.FinishReason));
        Assert.Equal((1010L, (long?)500, (long?)9, (long?)3, (long?)12), (a.TimeTakenNs, a.TimeToFirstTokenNs, a.InputTokens, a.OutputTokens, a.TotalTokens));
        Assert.Equal(Record(10).CreatedAt, a.CreatedAt);
        Assert.Equal("a", a.Metadata["note"]);
        Assert.Equal("b", first[1].Metadata["note"]); // the first copy is kept
        Assert.Equal(("{\"prompt\":\"x\"}", null), (a.RequestJson, a.ResponseJson));

        reopened.Remove(first);
        Assert.Equal(1, reopened.Pending);
        Assert.Equal(1, new AuditSpool(_path).Count());
        var rest = reopened.Read(10);
        Assert.Equal(30UL, Assert.Single(rest).RequestId);
        reopened.Remove(rest);
        reopened.Remove(rest); // removing again is harmless
        Assert.Equal(0, reopened.Pending);
        Assert.Empty(reopened.Read(10));
        Assert.Equal(0, new AuditSpool(_path).Count());
    }

    [Fact]
    public void Attempts_RoundTrip_AndAnEntrySpooledBeforeThemReadsWithNone()
    {
        var spool = new AuditSpool(_path);
        AuditAttempt[] attempts = [new("openai", "gpt-4o-mini", AuditAttempt.Failed, 503, null, 1_500, 3), new("openai", "other", AuditAttempt.Succeeded, 200, 700, 900, 1)];
        spool.Append([Record(1) with { Attempts = attempts }, Record(2), Record(3)]);
        // Entries as a build before attempts wrote them (no field), and one with the field null.
        const string before = """
            {"RequestId":2,"CreatedAt":"2025-01-02T03:04:07+00:00","OrganizationId":2,"ProjectId":3,"CredentialId":42,"Provider":"openai",
             "Model":"gpt-4o-mini","Status":"SUCCESS","Code":200,"FinishReason":"stop","TimeTakenNs":1002,"TimeToFirstTokenNs":500,
             "InputTokens":9,"OutputTokens":3,"TotalTokens":12,"Metadata":{"provider_name":"openai","note":"old"},"RequestJson":null,"ResponseJson":null}
            """;
        using (var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={_path};Pooling=False"))
        {
            connection.Open();
            using var update = connection.CreateCommand();
            update.CommandText = "UPDATE audit_spool SET record = @old WHERE request_id = 2; UPDATE audit_spool SET record = @null WHERE request_id = 3";
            update.Parameters.AddWithValue("@old", before);
            update.Parameters.AddWithValue("@null", before.Replace("\"RequestId\":2", "\"RequestId\":3", StringComparison.Ordinal).Replace("\"ResponseJson\":null}", "\"ResponseJson\":null,\"Attempts\":null}", StringComparison.Ordinal));
            Assert.Equal(2, update.ExecuteNonQuery());
        }

        var read = new AuditSpool(_path).Read(10);
        Assert.Equal(attempts, read[0].Attempts);
        Assert.Equal((2UL, "old", 1002L), (read[1].RequestId, read[1].Metadata["note"], read[1].TimeTakenNs));
        Assert.Empty(read[1].Attempts);
        Assert.Equal(3UL, read[2].RequestId);
        Assert.Empty(read[2].Attempts);
    }

    [Fact]
    public void NothingSpooled_NoFileCreated()
    {
        var spool = new AuditSpool(_path);
        Assert.Equal(0, spool.Count());
        Assert.Empty(spool.Read(10));
        Assert.False(File.Exists(_path));
    }

    public void Dispose()
    {
        foreach (var file in new[] { _path, _path + "-journal" }) if (File.Exists(file)) File.Delete(file);
    }
}
