using System.Net.Sockets;
using System.Runtime.InteropServices;
using Grpc.Core;
using Grpc.Health.V1;
using Grpc.Net.Client;
using IntegrationApi.Auth;
using IntegrationApi.Testing;
using IntegrationApi.Tests.Infrastructure;
using Proto = IntegrationApi.Contracts;

namespace IntegrationApi.Tests.Startup;

/// <summary>
/// The service as an operator starts it: the built binary run with <c>dotnet IntegrationApi.dll</c> from a working folder
/// of its own (not the binary's), configured through the environment and the command line. It finds its own
/// appsettings.json and serves gRPC over h2c; every misconfiguration ends in one line on stderr and exit code 1.
/// </summary>
public sealed class StartupTests : IDisposable
{
    private readonly string _work = Directory.CreateTempSubdirectory("integration-api-startup-").FullName;
    private readonly string _cwd;

    public StartupTests()
    {
        _cwd = Path.Combine(_work, "cwd");
        Directory.CreateDirectory(_cwd);
    }

    public void Dispose() => Directory.Delete(_work, recursive: true);

    /// <summary>Loopback port 0 for every endpoint, the data files in the test's folder, a service JWT secret: a valid start.</summary>
    private Dictionary<string, string> Environment(bool withAuth = true)
    {
        var env = new Dictionary<string, string>
        {
            ["Kestrel__Endpoints__Grpc__Url"] = "http://127.0.0.1:0",
            ["Kestrel__Endpoints__Http__Url"] = "http://127.0.0.1:0",
            ["Kestrel__Endpoints__OpenAI__Url"] = "http://127.0.0.1:0",
            ["Audit__SqlitePath"] = Path.Combine(_work, "data", "audit.db"),
            ["Auth__KeyStorePath"] = Path.Combine(_work, "data", "keys.db"),
        };
        if (withAuth) env["Auth__JwtSecret"] = TestGateway.JwtSecret;
        return env;
    }

    [Fact]
    public async Task FromAnUnrelatedFolder_FindsItsSettings_ServesGrpcOverH2c_HealthAndChat_StopsCleanlyOnSigterm()
    {
        await using var openai = new OpenAIFake();
        await openai.StartAsync();
        var env = Environment();
        env["Providers__OpenAI__BaseUrl"] = openai.BaseUrl;
        await using var service = ServiceProcess.Start(_cwd, [], env);
        var (grpc, http) = await service.ListeningAsync();

        // h2c needs the HTTP/2-only endpoint defaults of the appsettings.json next to the binary: without them Kestrel
        // offers HTTP/1.1 and HTTP/2 on a plain port, which means HTTP/1.1 only, and gRPC calls fail with HTTP_1_1_REQUIRED.
        using var channel = GrpcChannel.ForAddress(grpc);
        var health = await new Health.HealthClient(channel).CheckAsync(new HealthCheckRequest()).ResponseAsync.DefaultTimeout();
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, health.Status);

        var request = TestRequests.NewChat("openai", "hello from another folder");
        request.Credential = TestRequests.Credential("openai", "test-key", openai);
        var headers = new Metadata { { CallerAuthenticator.ServiceKeyHeader, TestTokens.Jwt(TestGateway.JwtSecret, 1, 2, 3, DateTimeOffset.UtcNow.AddHours(1)) } };
        var reply = await new Proto.OpenAiService.OpenAiServiceClient(channel).ChatAsync(request, headers).ResponseAsync.DefaultTimeout();
        Assert.True(reply.Success, reply.ToString());

        using var client = new HttpClient();
        Assert.True((await client.GetAsync(http + "/healthz").DefaultTimeout()).IsSuccessStatusCode);
        // The container health check: `health` asks the HTTP endpoint of the same settings (a wildcard host on loopback).
        await using (var probe = ServiceProcess.Start(_cwd, ["health"], new Dictionary<string, string> { ["Kestrel__Endpoints__Http__Url"] = $"http://0.0.0.0:{new Uri(http).Port}" }))
            Assert.Equal(0, await probe.ExitCodeAsync());
        Assert.Contains("Production", service.Stdout); // no environment given: Production
        Assert.Contains($"Content root path: {Path.GetDirectoryName(ServiceProcess.BinaryPath)}", service.Stdout);
        Assert.Empty(Directory.GetFileSystemEntries(_cwd)); // nothing read from or written to the working folder
        Assert.True(File.Exists(Path.Combine(_work, "data", "audit.db")));

        Assert.Equal(0, Kill(service.ProcessId, Sigterm));
        Assert.Equal(0, await service.ExitCodeAsync());
        Assert.Equal("", service.Stderr);
    }

    [Theory]
    [InlineData("--help", "Usage:")]
    [InlineData("-h", "keys create --org N --project N")]
    [InlineData("--version", "IntegrationApi 1.")]
    public async Task HelpAndVersion_ExitZero_WithoutAnyConfiguration(string arg, string expected)
    {
        // No settings at all, not even caller authentication: answered before anything is built.
        await using var service = ServiceProcess.Start(_cwd, [arg]);
        Assert.Equal(0, await service.ExitCodeAsync());
        Assert.Contains(expected, service.Stdout);
        Assert.Equal("", service.Stderr);
    }

    [Fact]
    public async Task HealthCommand_NothingListening_OneLine_Exit1()
    {
        var port = ClosedPort();
        await using var probe = ServiceProcess.Start(_cwd, ["health", "--url", $"http://127.0.0.1:{port}/healthz"]);
        Assert.Equal(1, await probe.ExitCodeAsync());
        Assert.StartsWith($"IntegrationApi: unhealthy: http://127.0.0.1:{port}/healthz", Assert.Single(probe.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries)), StringComparison.Ordinal);
    }

    [Fact]
    public async Task PortInUse_OneLineNamingTheEndpoint_Exit1()
    {
        using var taken = new TcpListener(System.Net.IPAddress.Loopback, 0);
        taken.Start();
        var port = ((System.Net.IPEndPoint)taken.LocalEndpoint).Port;
        var env = Environment();
        env["Kestrel__Endpoints__Grpc__Url"] = $"http://127.0.0.1:{port}";
        await AssertOneLineFailure(env, [], $"127.0.0.1:{port}", "already in use", "Kestrel:Endpoints:Grpc:Url");
    }

    [Theory]
    [InlineData("--Engine:IdleTimeout=00:00:00", "Engine.IdleTimeout", "must be between")]
    [InlineData("--Engine:IdleTimeout=soon", "Engine:IdleTimeout", "invalid setting")]
    [InlineData("--Audit:Store=mysql", "Audit.Store", "invalid setting")]
    [InlineData("--Kestrel:Endpoints:Grpc:Url=grpc-port", "Kestrel:Endpoints:Grpc:Url", "invalid setting")]
    [InlineData("--Redis:Configuration=127.0.0.1:6379,sslx=true,password=hunter2", "Redis:Configuration", "invalid setting")]
    public async Task InvalidSetting_OneLineNamingIt_Exit1(string arg, string setting, string what) =>
        await AssertOneLineFailure(Environment(), [arg], setting, what);

    [Fact]
    public async Task UnreachablePostgres_OneLineNamingIt_Exit1()
    {
        var env = Environment();
        env["Audit__Store"] = "postgres";
        env["Audit__PostgresConnectionString"] = $"Host=127.0.0.1;Port={ClosedPort()};Username=u;Password=secret-password;Timeout=5";
        await AssertOneLineFailure(env, [], "PostgreSQL at 127.0.0.1", "Audit__PostgresConnectionString"); // and not its password
    }

    [Fact]
    public async Task UnreadableKeyStore_OneLineNamingIt_Exit1()
    {
        var path = Path.Combine(_work, "not-a-database.db");
        await File.WriteAllTextAsync(path, "this is not an SQLite file, and the key store cannot be read from it");
        var env = Environment();
        env["Auth__KeyStorePath"] = path;
        await AssertOneLineFailure(env, [], "Auth:KeyStorePath", path);
    }

    [Theory]
    [InlineData("missing.pfx", null, "TLS certificate file not found")]
    [InlineData("missing.crt", "missing.key", "TLS certificate file not found")]
    [InlineData("not-a-certificate.pfx", null, "TLS certificate")]
    public async Task BadCertificate_OneLineNamingIt_Exit1(string certificate, string? key, string what)
    {
        if (certificate.StartsWith("not-", StringComparison.Ordinal)) await File.WriteAllTextAsync(Path.Combine(_work, certificate), "not a certificate");
        var env = Environment();
        env["Kestrel__Endpoints__Grpc__Url"] = "https://127.0.0.1:0";
        env["Kestrel__Certificates__Default__Path"] = Path.Combine(_work, certificate);
        if (key is not null) env["Kestrel__Certificates__Default__KeyPath"] = Path.Combine(_work, key);
        await AssertOneLineFailure(env, [], what, "Kestrel:Certificates:Default");
    }

    [Fact]
    public async Task Production_WithoutAnyCallerAuthentication_RefusesToStart_OneLine_Exit1() =>
        await AssertOneLineFailure(Environment(withAuth: false), [], "no caller authentication", "Auth__JwtSecret", "keys create");

    /// <summary>
    /// <c>keys create</c> takes the key store from the command line over the environment, as the service does; the key
    /// lands there and nowhere else, and Production (no JWT secret, no configured keys) starts with it and accepts it.
    /// </summary>
    [Fact]
    public async Task KeysCommand_HonoursCommandLineSettings_ProductionStartsWithTheStoredKey()
    {
        var environmentStore = Path.Combine(_work, "env-store", "keys.db");
        var commandLineStore = Path.Combine(_work, "cli-store", "keys.db");
        var env = Environment(withAuth: false);
        env["Auth__KeyStorePath"] = environmentStore;

        string secret;
        await using (var create = ServiceProcess.Start(_cwd, ["keys", "create", "--org", "21", "--project", "22", "--name", "ops", $"--Auth:KeyStorePath={commandLineStore}"], env))
        {
            Assert.Equal(0, await create.ExitCodeAsync());
            secret = create.Stdout.Split('\n', StringSplitOptions.TrimEntries).Single(l => l.StartsWith("rpd-prj-", StringComparison.Ordinal));
        }
        await using (var list = ServiceProcess.Start(_cwd, ["keys", "list", "--Auth:KeyStorePath", commandLineStore], env))
        {
            Assert.Equal(0, await list.ExitCodeAsync());
            Assert.Contains("\t21\t22\t", list.Stdout);
            Assert.Contains("\tops", list.Stdout);
        }
        Assert.False(File.Exists(environmentStore), "the key went to the environment's store");
        // Without the command-line setting, the environment's store (not the default next to the binary).
        await using (var fromEnvironment = ServiceProcess.Start(_cwd, ["keys", "create", "--org", "23", "--project", "24"], env))
            Assert.Equal(0, await fromEnvironment.ExitCodeAsync());
        Assert.True(File.Exists(environmentStore), "the environment's key store was not used");
        Assert.Empty(Directory.GetFileSystemEntries(_cwd));

        await using var openai = new OpenAIFake();
        await openai.StartAsync();
        env["Auth__KeyStorePath"] = commandLineStore;
        env["Providers__OpenAI__BaseUrl"] = openai.BaseUrl;
        await using var service = ServiceProcess.Start(_cwd, [], env);
        var (grpc, _) = await service.ListeningAsync();
        using var channel = GrpcChannel.ForAddress(grpc);
        var request = TestRequests.NewChat("openai", "with a stored key");
        request.Credential = TestRequests.Credential("openai", "test-key", openai);
        var reply = await new Proto.OpenAiService.OpenAiServiceClient(channel)
            .ChatAsync(request, new Metadata { { CallerAuthenticator.ApiKeyHeader, secret } }).ResponseAsync.DefaultTimeout();
        Assert.True(reply.Success, reply.ToString());
    }

    /// <summary>Runs the service, which must stop by itself: exit 1, exactly one line on stderr holding every <paramref name="expected"/>, no stack trace anywhere.</summary>
    private async Task AssertOneLineFailure(Dictionary<string, string> env, string[] args, params string[] expected)
    {
        await using var service = ServiceProcess.Start(_cwd, args, env);
        var code = await service.ExitCodeAsync();
        var output = $"exit code {code}\nstdout:\n{service.Stdout}\nstderr:\n{service.Stderr}";
        Assert.True(code == 1, output);
        var lines = service.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.True(lines.Length == 1, output);
        Assert.StartsWith("IntegrationApi: ", lines[0], StringComparison.Ordinal);
        foreach (var text in expected) Assert.True(lines[0].Contains(text, StringComparison.Ordinal), $"'{text}' not in: {lines[0]}");
        Assert.DoesNotContain("   at ", service.Stdout + service.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("Exception:", service.Stdout, StringComparison.Ordinal);
        Assert.DoesNotContain("Now listening on", service.Stdout, StringComparison.Ordinal);
        Assert.DoesNotContain("secret-password", service.Stdout + service.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("hunter2", service.Stdout + service.Stderr, StringComparison.Ordinal);
    }

    /// <summary>A loopback port nothing listens on (bound once by the system, then released).</summary>
    private static int ClosedPort()
    {
        using var listener = new TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        var port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    private const int Sigterm = 15;

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int Kill(int pid, int signal);
}
