using Grpc.Core;
using IntegrationApi.Auth;
using IntegrationApi.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

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

    [Fact]
    public void BadCommand_Usage()
    {
        var output = new StringWriter();
        Assert.Equal(2, KeysCommand.Run(null!, ["create", "--org", "x"], output));
        Assert.Contains("usage", output.ToString());
    }
}
