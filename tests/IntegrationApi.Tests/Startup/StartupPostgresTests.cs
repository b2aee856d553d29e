using Grpc.Core;
using Grpc.Net.Client;
using IntegrationApi.Auth;
using IntegrationApi.Testing;
using IntegrationApi.Tests.Infrastructure;
using Proto = IntegrationApi.Contracts;

namespace IntegrationApi.Tests.Startup;

/// <summary>
/// The key store in PostgreSQL, as several instances share it: <c>keys create</c> run with the service's settings
/// writes there, and a Production instance with no other caller authentication starts on that key and accepts it.
/// Runs where <see cref="AuditStores.PostgresVariable"/> names a server (.ci/run sets it).
/// </summary>
[Collection(AuditStores.Collection)]
public sealed class StartupPostgresTests : IDisposable
{
    private readonly string _work = Directory.CreateTempSubdirectory("integration-api-startup-pg-").FullName;

    public void Dispose() => Directory.Delete(_work, recursive: true);

    [SkippableFact]
    public async Task KeysCommand_IntoPostgres_ProductionStartsWithTheStoredKey()
    {
        var postgres = System.Environment.GetEnvironmentVariable(AuditStores.PostgresVariable);
        Skip.If(string.IsNullOrEmpty(postgres), $"{AuditStores.PostgresVariable} is not set");
        await using var openai = new OpenAIFake();
        await openai.StartAsync();
        var env = new Dictionary<string, string>
        {
            ["Kestrel__Endpoints__Grpc__Url"] = "http://127.0.0.1:0",
            ["Kestrel__Endpoints__Http__Url"] = "http://127.0.0.1:0",
            ["Kestrel__Endpoints__OpenAI__Url"] = "http://127.0.0.1:0",
            ["Audit__SqlitePath"] = Path.Combine(_work, "data", "audit.db"), // the spool's place
            ["Auth__KeyStorePath"] = Path.Combine(_work, "data", "keys.db"),  // not used: the keys are in PostgreSQL
            ["Audit__Store"] = "postgres",
            ["Audit__PostgresConnectionString"] = $"{postgres};Search Path=t_{Guid.NewGuid():N}",
            ["Providers__OpenAI__BaseUrl"] = openai.BaseUrl,
        };

        string secret;
        await using (var create = ServiceProcess.Start(_work, ["keys", "create", "--org", "31", "--project", "32"], env))
        {
            Assert.Equal(0, await create.ExitCodeAsync());
            secret = create.Stdout.Split('\n', StringSplitOptions.TrimEntries).Single(l => l.StartsWith("rpd-prj-", StringComparison.Ordinal));
        }

        await using var service = ServiceProcess.Start(_work, [], env);
        var (grpc, _) = await service.ListeningAsync();
        using var channel = GrpcChannel.ForAddress(grpc);
        var request = TestRequests.NewChat("openai", "with a key stored in PostgreSQL");
        request.Credential = TestRequests.Credential("openai", "test-key", openai);
        var reply = await new Proto.OpenAiService.OpenAiServiceClient(channel)
            .ChatAsync(request, new Metadata { { CallerAuthenticator.ApiKeyHeader, secret } }).ResponseAsync.DefaultTimeout();
        Assert.True(reply.Success, reply.ToString());
        Assert.False(File.Exists(Path.Combine(_work, "data", "keys.db")), "the keys went to the SQLite store, not PostgreSQL");
    }
}
