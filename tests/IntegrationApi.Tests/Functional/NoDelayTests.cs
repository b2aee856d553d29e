using System.Runtime.InteropServices;
using IntegrationApi.Tests.Infrastructure;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace IntegrationApi.Tests.Functional;

/// <summary>
/// No 40 ms latency quantum (Nagle's algorithm meeting the peer's delayed ACK): every TCP socket the service owns has
/// TCP_NODELAY, so a small write (a streamed token, a Redis command, an audit batch) leaves at once. The service is run
/// in process and made to open each kind of connection; then the process's socket descriptors (/proc/self/fd) are
/// read with getsockname/getpeername/getsockopt. No timing: the socket option itself is asserted, and each kind of
/// socket must have been found, so the test cannot pass on an empty list. Linux only (the CI).
/// </summary>
[Collection(AuditStores.Collection)]
public sealed partial class NoDelayTests
{
    public static IEnumerable<object[]> Stores => AuditStores.All;

    [SkippableTheory, MemberData(nameof(Stores))]
    public async Task EverySocketTheServiceOwns_HasNoDelay(string store)
    {
        Skip.IfNot(OperatingSystem.IsLinux(), "reads /proc/self/fd and Linux socket options");
        await using var gateway = await TestGateway.StartAsync(AuditStores.Settings(store));
        using var clients = new Held();
        var expected = await OpenEveryKindAsync(gateway, clients);
        if (store == "postgres")
        {
            await gateway.AuditStore.ListAsync(2, 3, 0, 10, CancellationToken.None); // the store's pool holds a connection now
            expected[PostgresPort()] = "outbound PostgreSQL (Npgsql, audit store)";
        }

        AssertNoDelay(Listeners(gateway), expected);
    }

    [SkippableFact]
    public async Task RedisConnections_HaveNoDelay()
    {
        Skip.IfNot(OperatingSystem.IsLinux(), "reads /proc/self/fd and Linux socket options");
        Skip.If(RedisServer.FindBinary() is null, RedisServer.SkipReason);
        await using var redis = await RedisServer.StartAsync();
        await using var gateway = await TestGateway.StartAsync(new Dictionary<string, string?>
        {
            ["Redis:Configuration"] = redis.Configuration,
            ["Redis:KeyPrefix"] = $"t{Guid.NewGuid():N}:",
            ["Engine:MaxConcurrentRequestsPerPrincipal"] = "5",
            ["Engine:RequestsPerSecondPerPrincipal"] = "100",
        });
        using var clients = new Held();
        var expected = await OpenEveryKindAsync(gateway, clients); // the chats took their leases in Redis
        expected[redis.Port] = "outbound Redis (StackExchange.Redis)";

        AssertNoDelay(Listeners(gateway), expected);
    }

    /// <summary>
    /// A StreamChat (left open) and a unary call on the gRPC port, a request on the HTTP and the OpenAI-compatible
    /// listeners (their keep-alive connections stay open), and a chat to every provider's fake (Vertex AI's token fetch
    /// included). The clients go to <paramref name="clients"/>, so their connections are still open when the sockets
    /// are read. Returns the outbound ports: each fake's.
    /// </summary>
    private static async Task<Dictionary<int, string>> OpenEveryKindAsync(TestGateway gateway, Held clients)
    {
        var stream = clients.Add(gateway.OpenStream("openai"));
        await stream.SendAsync(gateway.NewChat("openai", "streamed", "s1"));
        Assert.True((await stream.ReadUntilAsync(ChatStream.IsTerminal)).Success);
        var outbound = new Dictionary<int, string>();
        foreach (var provider in TestProviders.All)
        {
            var answer = await gateway.ChatAsync(provider.Name, gateway.NewChat(provider.Name, "unary"));
            Assert.True(answer.Success, $"{provider.Name}: {answer.Describe()}");
            outbound[new Uri(gateway.Fake(provider.Name).BaseUrl).Port] = $"outbound provider HTTP ({provider.Name}, SocketsHttpHandler)";
        }

        var operatorPort = clients.Add(new HttpClient());
        using (var health = await operatorPort.GetAsync(gateway.HttpAddress + "/healthz").DefaultTimeout()) Assert.True(health.IsSuccessStatusCode);
        var callersPort = clients.Add(new HttpClient { DefaultRequestHeaders = { Authorization = new("Bearer", TestGateway.ApiKey) } });
        using (var models = await callersPort.GetAsync(gateway.OpenAIAddress + "/v1/models").DefaultTimeout()) Assert.True(models.IsSuccessStatusCode);
        return outbound;
    }

    /// <summary>The test's clients, disposed (before the gateway) when the test ends.</summary>
    private sealed class Held : IDisposable
    {
        private readonly List<IDisposable> _clients = [];
        public T Add<T>(T client) where T : IDisposable { _clients.Add(client); return client; }
        public void Dispose() => _clients.ForEach(c => c.Dispose());
    }

    /// <summary>The service's listener ports, by name: Kestrel binds Grpc, Http, OpenAI in that order (as TestGateway reads them).</summary>
    private static Dictionary<int, string> Listeners(TestGateway gateway)
    {
        var addresses = gateway.App.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.ToArray();
        string[] names = ["gRPC (h2c)", "HTTP (metrics, health)", "OpenAI-compatible HTTP"];
        Assert.Equal(names.Length, addresses.Length);
        return addresses.Select((a, i) => (Port: new Uri(a).Port, Name: $"accepted on the {names[i]} listener")).ToDictionary(x => x.Port, x => x.Name);
    }

    private static int PostgresPort() =>
        new NpgsqlConnectionStringBuilder(Environment.GetEnvironmentVariable(AuditStores.PostgresVariable)) is { Host: var host, Port: var port } && host is not null && !host.StartsWith('/')
            ? port : throw new SkipException("PostgreSQL is reached over a Unix socket here: no TCP socket to check");

    /// <summary>
    /// Every connected TCP socket of this process whose local port is a listener's (the service accepted it) or whose
    /// remote port is an outbound peer's (the service opened it) has TCP_NODELAY; and every kind was found.
    /// </summary>
    private static void AssertNoDelay(Dictionary<int, string> listeners, Dictionary<int, string> outbound)
    {
        var found = new List<(string Kind, int Local, int Remote, bool NoDelay)>();
        foreach (var socket in TcpSockets())
        {
            var kind = listeners.TryGetValue(socket.Local, out var accepted) ? accepted
                : outbound.TryGetValue(socket.Remote, out var opened) ? opened : null;
            if (kind is not null) found.Add((kind, socket.Local, socket.Remote, socket.NoDelay));
        }

        var described = string.Join("\n", found.Select(s => $"  {s.Kind}: 127.0.0.1:{s.Local} -> :{s.Remote}, TCP_NODELAY={(s.NoDelay ? 1 : 0)}"));
        var missing = listeners.Values.Concat(outbound.Values).Distinct().Where(kind => !found.Any(s => s.Kind == kind)).ToArray();
        Assert.True(missing.Length == 0, $"No socket found of kind(s): {string.Join("; ", missing)}\nFound:\n{described}");
        var nagled = found.Where(s => !s.NoDelay).ToArray();
        Assert.True(nagled.Length == 0, $"Sockets without TCP_NODELAY:\n{string.Join("\n", nagled.Select(s => $"  {s.Kind}: 127.0.0.1:{s.Local} -> :{s.Remote}"))}\nAll found:\n{described}");
    }

    /// <summary>The connected IPv4/IPv6 stream sockets among this process's descriptors: local and remote port, TCP_NODELAY.</summary>
    private static IEnumerable<(int Local, int Remote, bool NoDelay)> TcpSockets()
    {
        foreach (var entry in Directory.EnumerateFileSystemEntries("/proc/self/fd"))
        {
            if (!int.TryParse(Path.GetFileName(entry), out var fd)) continue;
            var target = LinkTarget(entry);
            if (target is null || !target.StartsWith("socket:[", StringComparison.Ordinal)) continue;
            if (Inspect(fd) is not { } socket) continue;
            // The descriptor may have been closed (and its number reused) while it was read: then it is not this socket.
            if (LinkTarget(entry) != target) continue;
            yield return socket;
        }
    }

    private static string? LinkTarget(string path)
    {
        try { return new FileInfo(path).LinkTarget; }
        catch (IOException) { return null; }
    }

    private static unsafe (int Local, int Remote, bool NoDelay)? Inspect(int fd)
    {
        const int SolSocket = 1, SoType = 3, SockStream = 1, IpProtoTcp = 6, TcpNoDelay = 1, AfInet = 2, AfInet6 = 10;
        int type = 0, length = sizeof(int);
        if (GetSockOpt(fd, SolSocket, SoType, &type, ref length) != 0 || type != SockStream) return null;
        var address = stackalloc byte[128];
        length = 128;
        if (GetSockName(fd, address, ref length) != 0) return null;
        var family = address[0] | address[1] << 8; // sa_family_t, host order (little-endian on the CI's x64/arm64)
        if (family is not (AfInet or AfInet6)) return null;
        var local = address[2] << 8 | address[3]; // sin_port / sin6_port, network order
        length = 128;
        if (GetPeerName(fd, address, ref length) != 0) return null; // a listener, or not connected (yet, or any more)
        var remote = address[2] << 8 | address[3];
        int noDelay = 0;
        length = sizeof(int);
        if (GetSockOpt(fd, IpProtoTcp, TcpNoDelay, &noDelay, ref length) != 0) return null;
        return (local, remote, noDelay != 0);
    }

    [LibraryImport("libc", EntryPoint = "getsockopt")]
    private static unsafe partial int GetSockOpt(int fd, int level, int name, int* value, ref int length);

    [LibraryImport("libc", EntryPoint = "getsockname")]
    private static unsafe partial int GetSockName(int fd, byte* address, ref int length);

    [LibraryImport("libc", EntryPoint = "getpeername")]
    private static unsafe partial int GetPeerName(int fd, byte* address, ref int length);
}
