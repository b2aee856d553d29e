using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace IntegrationApi.Tests.Infrastructure;

/// <summary>
/// A real redis-server of the test's own, on a free loopback port, with nothing persisted. The binary comes from
/// <see cref="Variable"/> (.ci/run installs Debian's redis-server and sets it) or <c>/usr/bin/redis-server</c>.
/// </summary>
public sealed class RedisServer : IAsyncDisposable
{
    public const string Variable = "INTEGRATION_API_TEST_REDIS_SERVER";

    private Process? _process;

    private RedisServer(string binary, int port) => (Binary, Port) = (binary, port);

    public string Binary { get; }
    public int Port { get; }

    /// <summary>The StackExchange.Redis configuration string of this server.</summary>
    public string Configuration => $"127.0.0.1:{Port}";

    /// <summary>The redis-server binary, or null when there is none (the test is then skipped, loudly).</summary>
    public static string? FindBinary() =>
        Environment.GetEnvironmentVariable(Variable) is { Length: > 0 } configured ? configured
        : File.Exists("/usr/bin/redis-server") ? "/usr/bin/redis-server" : null;

    public static string SkipReason => $"REDIS NOT AVAILABLE: no redis-server ({Variable} unset and /usr/bin/redis-server missing); .ci/run installs it";

    public static async Task<RedisServer> StartAsync()
    {
        var server = new RedisServer(FindBinary() ?? throw new InvalidOperationException(SkipReason), FreePort());
        await server.StartAgainAsync();
        return server;
    }

    /// <summary>Starts the server (again, after <see cref="Stop"/>) on the same port and waits until it answers PING.</summary>
    public async Task StartAgainAsync()
    {
        _process = Process.Start(new ProcessStartInfo(Binary, ["--port", Port.ToString(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--protected-mode", "no"])
        {
            RedirectStandardOutput = true, RedirectStandardError = true,
        })!;
        _process.OutputDataReceived += (_, _) => { };
        _process.ErrorDataReceived += (_, _) => { };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (!await PingAsync())
        {
            if (_process.HasExited) throw new InvalidOperationException($"redis-server exited with {_process.ExitCode}");
            if (DateTime.UtcNow > deadline) throw new TimeoutException("redis-server did not answer within 10 s");
            await Task.Delay(50); // bounded polling of a child process
        }
    }

    /// <summary>Kills the server (SIGKILL): to its clients Redis is simply gone.</summary>
    public void Stop()
    {
        if (_process is null) return;
        _process.Kill();
        _process.WaitForExit(10_000);
        _process.Dispose();
        _process = null;
    }

    private async Task<bool> PingAsync()
    {
        try
        {
            using var client = new TcpClient();
            await client.ConnectAsync(IPAddress.Loopback, Port);
            var stream = client.GetStream();
            await stream.WriteAsync("PING\r\n"u8.ToArray());
            var buffer = new byte[16];
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(1));
            var read = await stream.ReadAsync(buffer, timeout.Token);
            return read >= 5 && System.Text.Encoding.ASCII.GetString(buffer, 0, read).StartsWith("+PONG", StringComparison.Ordinal);
        }
        catch (Exception ex) when (ex is SocketException or IOException or OperationCanceledException) { return false; }
    }

    /// <summary>A loopback port nobody listens on right now.</summary>
    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public ValueTask DisposeAsync()
    {
        Stop();
        return ValueTask.CompletedTask;
    }
}
