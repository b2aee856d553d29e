using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Microsoft.Extensions.DependencyInjection;
using IntegrationApi.Testing;
using IntegrationApi.Tests.Infrastructure;
using static IntegrationApi.Tests.Infrastructure.TestRequests;

namespace IntegrationApi.Tests.Functional;

/// <summary>Every chat request leaves exactly one audit record, written off the hot path and flushed at shutdown.</summary>
[Collection(AuditStores.Collection)]
public sealed class AuditTests
{
    public static IEnumerable<object[]> Stores => AuditStores.All;

    [Theory, MemberData(nameof(Stores))]
    public async Task EveryRequest_OneRecord_WithUsageCodesAndEnrichment_FlushedAtShutdown(string store)
    {
        await using var gateway = await TestGateway.StartAsync(AuditStores.Settings(store));
        gateway.OpenAI.DefaultScript = new FakeScript { TextChunks = ["a"], InputTokens = 9, OutputTokens = 3 };
        var headers = TestGateway.AuthHeaders();
        headers.Add("x-client-source", "sdk");
        headers.Add("x-rapida-region", "eu");
        using (var stream = gateway.OpenStream("openai", headers))
        {
            var ok = gateway.NewChat("openai", "ok", "1");
            ok.AdditionalData["assistant_id"] = "42";
            ok.ModelParameters["model.id"] = Param(Value.ForString("m-7"));
            await stream.SendAsync(ok);
            await stream.SendAsync(gateway.NewChat("openai", "bad key", "2", key: "wrong"));
            var invalid = gateway.NewChat("openai", "no model", "3"); invalid.ModelParameters.Remove("model.name");
            await stream.SendAsync(invalid);
            var badRole = gateway.NewChat("openai", "x", "4"); badRole.Conversations[0].Role = "wizard";
            await stream.SendAsync(badRole);
            await stream.ReadTerminalsAsync(4);
            await stream.CompleteAsync();
            await stream.ReadToEndAsync();
        }
        await gateway.ChatAsync("openai", gateway.NewChat("openai", "unary"));
        var answers = 5;

        await gateway.App.StopAsync(); // the writer drains its buffer before the host ends
        var records = await gateway.AuditStore.ListAsync(2, 3, 0, 100, CancellationToken.None);

        Assert.Equal(answers, records.Count);
        Assert.Equal(answers, records.Select(r => r.RequestId).Distinct().Count());
        var success = Assert.Single(records, r => r.Code == 200 && r.Metadata.ContainsKey("assistant_id"));
        Assert.Equal(("SUCCESS", "stop", "openai", "gpt-4o-mini"), (success.Status, success.FinishReason, success.Provider, success.Model));
        Assert.Equal((9L, 3L, 12L), (success.InputTokens, success.OutputTokens, success.TotalTokens));
        Assert.True(success.TimeTakenNs > 0 && success.TimeToFirstTokenNs > 0);
        Assert.Equal(42UL, success.CredentialId);
        Assert.Equal("42", success.Metadata["assistant_id"]);
        Assert.Equal("m-7", success.Metadata["model_id"]);
        Assert.Equal("openai", success.Metadata["provider_name"]);
        Assert.Equal(("sdk", "eu"), (success.Metadata["source"], success.Metadata["region"]));
        Assert.Equal([200, 200, 400, 400, 401], records.Select(r => r.Code).Order());
        Assert.All(records.Where(r => r.Code != 200), r => Assert.Equal("FAILED", r.Status));
        Assert.DoesNotContain(records, r => r.Metadata.Values.Any(v => v.Contains("test-key") || v.Contains("wrong")));
    }

    [Theory, MemberData(nameof(Stores))]
    public async Task Records_AreScopedToTheCallersProject(string store)
    {
        await using var gateway = await TestGateway.StartAsync(AuditStores.Settings(store));
        await gateway.ChatAsync("openai", gateway.NewChat("openai", "jwt caller"));                      // org 2, project 3
        await gateway.ChatAsync("openai", gateway.NewChat("openai", "key caller"),
            new Metadata { { Auth.CallerAuthenticator.ApiKeyHeader, TestGateway.ApiKey } });            // org 7, project 8
        await gateway.App.StopAsync();

        Assert.Equal(1, await gateway.AuditStore.CountAsync(2, 3, CancellationToken.None));
        Assert.Equal(1, await gateway.AuditStore.CountAsync(7, 8, CancellationToken.None));
        Assert.Equal(0, await gateway.AuditStore.CountAsync(2, 8, CancellationToken.None));
    }
}

/// <summary>The store failing or too slow: the service keeps serving; records are retried, or dropped and counted.</summary>
public sealed class AuditFaultTests
{
    /// <summary>A store that fails its first writes (the database is down), then works.</summary>
    private sealed class FlakyStore(int failures) : Audit.IAuditStore
    {
        private readonly List<Audit.AuditRecord> _stored = [];
        private int _failures = failures;
        public int Attempts;
        public IReadOnlyList<Audit.AuditRecord> Stored { get { lock (_stored) return [.. _stored]; } }
        public Task MigrateAsync(CancellationToken cancellationToken) => Task.CompletedTask;
        public Task WriteAsync(IReadOnlyList<Audit.AuditRecord> records, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref Attempts);
            if (Interlocked.Decrement(ref _failures) >= 0) throw new IOException("database is down");
            lock (_stored) _stored.AddRange(records);
            return Task.CompletedTask;
        }
        public Task<IReadOnlyList<Audit.AuditRecord>> ListAsync(ulong o, ulong p, int skip, int take, CancellationToken c) => Task.FromResult(Stored);
        public Task<long> CountAsync(ulong o, ulong p, CancellationToken c) => Task.FromResult((long)Stored.Count);
        public Task<(IReadOnlyList<Audit.AuditRecord> Records, long Total)> QueryAsync(Audit.AuditQuery q, CancellationToken c) => throw new NotSupportedException();
        public Task<Audit.AuditRecord?> GetAsync(ulong o, ulong p, ulong id, CancellationToken c) => throw new NotSupportedException();
        public Task<(Audit.MetadataMerge Outcome, Audit.AuditRecord? Record)> MergeMetadataAsync(ulong o, ulong p, ulong id, IReadOnlyDictionary<string, string> m, int maxKeys, CancellationToken c) => throw new NotSupportedException();
    }

    [Fact]
    public async Task StoreDown_ServiceKeepsServing_RecordsWrittenOnceItIsBack_NoneLost()
    {
        var store = new FlakyStore(failures: 3);
        await using var gateway = await TestGateway.StartAsync(services: s => s.AddSingleton<Audit.IAuditStore>(store));
        const int requests = 20;
        using (var stream = gateway.OpenStream("openai"))
        {
            for (var i = 0; i < requests; i++) await stream.SendAsync(gateway.NewChat("openai", $"r{i}", $"{i}"));
            var terminals = await stream.ReadTerminalsAsync(requests);
            Assert.All(terminals, t => Assert.True(t.Success)); // serving went on while the store failed
        }
        await gateway.App.StopAsync();

        Assert.Equal(requests, store.Stored.Count);
        Assert.Equal(requests, store.Stored.Select(r => r.RequestId).Distinct().Count());
        Assert.True(store.Attempts > 3);
    }

    /// <summary>A store that never answers until released.</summary>
    private sealed class StuckStore : Audit.IAuditStore
    {
        public readonly TaskCompletionSource Release = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public int Stored;
        public Task MigrateAsync(CancellationToken cancellationToken) => Task.CompletedTask;
        public async Task WriteAsync(IReadOnlyList<Audit.AuditRecord> records, CancellationToken cancellationToken)
        {
            await Release.Task;
            Interlocked.Add(ref Stored, records.Count);
        }
        public Task<IReadOnlyList<Audit.AuditRecord>> ListAsync(ulong o, ulong p, int skip, int take, CancellationToken c) => Task.FromResult<IReadOnlyList<Audit.AuditRecord>>([]);
        public Task<long> CountAsync(ulong o, ulong p, CancellationToken c) => Task.FromResult((long)Stored);
        public Task<(IReadOnlyList<Audit.AuditRecord> Records, long Total)> QueryAsync(Audit.AuditQuery q, CancellationToken c) => throw new NotSupportedException();
        public Task<Audit.AuditRecord?> GetAsync(ulong o, ulong p, ulong id, CancellationToken c) => throw new NotSupportedException();
        public Task<(Audit.MetadataMerge Outcome, Audit.AuditRecord? Record)> MergeMetadataAsync(ulong o, ulong p, ulong id, IReadOnlyDictionary<string, string> m, int maxKeys, CancellationToken c) => throw new NotSupportedException();
    }

    [Fact]
    public async Task BufferFull_RecordsDroppedCountedAndLogged_NeverSilently()
    {
        var store = new StuckStore();
        await using var gateway = await TestGateway.StartAsync(new Dictionary<string, string?> { ["Audit:BufferCapacity"] = "2", ["Audit:BatchSize"] = "1" },
            services: s => s.AddSingleton<Audit.IAuditStore>(store));
        const int requests = 8;
        for (var i = 0; i < requests; i++) Assert.True((await gateway.ChatAsync("openai", gateway.NewChat("openai", $"r{i}"))).Success);

        var dropped = gateway.Logs.Entries.Count(e => e.Message.StartsWith("Audit buffer full", StringComparison.Ordinal));
        store.Release.SetResult();
        await gateway.App.StopAsync();

        // One record is in the stuck write, two fit the buffer: the rest were dropped, each one logged.
        Assert.Equal(requests, store.Stored + dropped);
        Assert.True(dropped >= requests - 3, $"{dropped} dropped");
    }
}
