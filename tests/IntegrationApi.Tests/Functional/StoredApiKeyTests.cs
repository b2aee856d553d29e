using Grpc.Core;
using IntegrationApi.Auth;
using IntegrationApi.Tests.Infrastructure;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace IntegrationApi.Tests.Functional;

/// <summary>Project API keys stored as hashes: created once in the clear, listed without secrets, revoked at once for new streams.</summary>
[Collection(AuditStores.Collection)]
public sealed class StoredApiKeyTests
{
    public static IEnumerable<object[]> Stores => AuditStores.All;

    [Theory, MemberData(nameof(Stores))]
    public async Task CreateListRevoke_RevocationRefusesNewStreamsAtOnce(string storeKind)
    {
        await using var gateway = await TestGateway.StartAsync(AuditStores.Settings(storeKind));
        var store = gateway.App.Services.GetRequiredService<ApiKeyStore>();
        var created = new StringWriter();
        Assert.Equal(0, KeysCommand.Run(store, ["create", "--org", "11", "--project", "12", "--name", "ci"], created));
        var secret = created.ToString().Split('\n', StringSplitOptions.TrimEntries).Single(l => l.StartsWith("rpd-prj-", StringComparison.Ordinal));
        var headers = new Metadata { { CallerAuthenticator.ApiKeyHeader, secret } };

        using (var stream = gateway.OpenStream("openai", headers))
        {
            await stream.SendAsync(gateway.NewChat("openai", "hi"));
            Assert.True((await stream.ReadUntilAsync(ChatStream.IsTerminal)).Success);

            var listed = new StringWriter();
            KeysCommand.Run(store, ["list"], listed);
            Assert.Contains("\t11\t12\t", listed.ToString());
            Assert.DoesNotContain(secret, listed.ToString());
            var id = store.List().Single().Id;
            Assert.Equal(0, KeysCommand.Run(store, ["revoke", id.ToString()], new StringWriter()));

            // The open stream was authenticated when it opened; new streams and calls are refused.
            await stream.SendAsync(gateway.NewChat("openai", "still open"));
            Assert.True((await stream.ReadUntilAsync(ChatStream.IsTerminal)).Success);
        }
        using var refused = gateway.OpenStream("openai", headers);
        Assert.Equal(StatusCode.Unauthenticated, (await Assert.ThrowsAsync<RpcException>(() => refused.ReadAsync())).StatusCode);
        var unary = await Assert.ThrowsAsync<RpcException>(() => gateway.ChatAsync("openai", gateway.NewChat("openai", "x"), headers));
        Assert.Equal(StatusCode.Unauthenticated, unary.StatusCode);
        await gateway.App.StopAsync();
        Assert.Equal(2, await gateway.AuditStore.CountAsync(11, 12, CancellationToken.None)); // the key's project owns the records
    }

    /// <summary>
    /// A key revoked by another instance (or the <c>keys revoke</c> command) is refused for new streams once this
    /// instance's lookup cache lets go of it: within <see cref="ApiKeyLookupCache.FoundFor"/>, not at once.
    /// </summary>
    [Theory, MemberData(nameof(Stores))]
    public async Task RevokedByAnotherInstance_NewStreamsRefusedWithinTheLookupCacheTime(string storeKind)
    {
        var clock = new ShiftedTimeProvider();
        await using var gateway = await TestGateway.StartAsync(AuditStores.Settings(storeKind), time: clock);
        var store = gateway.App.Services.GetRequiredService<ApiKeyStore>();
        var elsewhere = ActivatorUtilities.CreateInstance<ApiKeyStore>(gateway.App.Services); // same database, its own cache
        var (key, secret) = store.Create(11, 12, "elsewhere");
        var headers = new Metadata { { CallerAuthenticator.ApiKeyHeader, secret } };
        Assert.True((await gateway.ChatAsync("openai", gateway.NewChat("openai", "first"), headers)).Success);

        Assert.True(elsewhere.Revoke(key.Id));
        Assert.True((await gateway.ChatAsync("openai", gateway.NewChat("openai", "cached"), headers)).Success); // the lookup is still cached

        clock.Offset = ApiKeyLookupCache.FoundFor + TimeSpan.FromSeconds(1);
        var refused = await Assert.ThrowsAsync<RpcException>(() => gateway.ChatAsync("openai", gateway.NewChat("openai", "x"), headers));
        Assert.Equal(StatusCode.Unauthenticated, refused.StatusCode);
        using var stream = gateway.OpenStream("openai", headers);
        Assert.Equal(StatusCode.Unauthenticated, (await Assert.ThrowsAsync<RpcException>(() => stream.ReadAsync())).StatusCode);
    }

    /// <summary>A key store that cannot be read ends the call Unavailable (never admitted), and that failure is not remembered.</summary>
    [Fact]
    public async Task KeyStoreUnreadable_CallUnavailable_ThenReadAgain()
    {
        await using var gateway = await TestGateway.StartAsync();
        gateway.AllowErrorLogs = true; // the failure is logged at Error
        var store = gateway.App.Services.GetRequiredService<ApiKeyStore>();
        var (_, secret) = store.Create(11, 12, "unreadable");
        var headers = new Metadata { { CallerAuthenticator.ApiKeyHeader, secret } };
        var path = gateway.App.Services.GetRequiredService<IOptions<AuthOptions>>().Value.KeyStorePath;
        await using (var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path }.ToString()))
        {
            await connection.OpenAsync();
            await using var drop = connection.CreateCommand();
            drop.CommandText = "DROP TABLE api_keys";
            await drop.ExecuteNonQueryAsync();
        }

        var unavailable = await Assert.ThrowsAsync<RpcException>(() => gateway.ChatAsync("openai", gateway.NewChat("openai", "x"), headers));
        Assert.Equal(StatusCode.Unavailable, unavailable.StatusCode);
        Assert.Contains(gateway.Logs.Entries, e => e.Message.StartsWith("Caller authentication failed", StringComparison.Ordinal));

        store.EnsureCreated(); // readable again, the key gone with its table
        var refused = await Assert.ThrowsAsync<RpcException>(() => gateway.ChatAsync("openai", gateway.NewChat("openai", "x"), headers));
        Assert.Equal(StatusCode.Unauthenticated, refused.StatusCode);
        Assert.Empty(gateway.OpenAI.Requests);
    }

    [Fact]
    public void BadCommand_Usage()
    {
        var output = new StringWriter();
        Assert.Equal(2, KeysCommand.Run(null!, ["create", "--org", "x"], output));
        Assert.Contains("usage", output.ToString());
    }
}
