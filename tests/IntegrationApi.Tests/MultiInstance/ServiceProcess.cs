using System.Collections.Concurrent;
using System.Diagnostics;

namespace IntegrationApi.Tests.MultiInstance;

/// <summary>
/// One instance of the built service (<c>src/IntegrationApi/bin/&lt;configuration&gt;/net10.0/IntegrationApi.dll</c>) run as a
/// child process with its settings in environment variables, on its own free ports; or a one-off command of that dll.
/// </summary>
public sealed class ServiceProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly ConcurrentQueue<string> _output = new();

    private ServiceProcess(Process process, int grpcPort, int httpPort, string name)
    {
        (_process, GrpcPort, HttpPort, Name) = (process, grpcPort, httpPort, name);
        _process.OutputDataReceived += (_, e) => { if (e.Data is not null) _output.Enqueue(e.Data); };
        _process.ErrorDataReceived += (_, e) => { if (e.Data is not null) _output.Enqueue(e.Data); };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    public string Name { get; }
    public int GrpcPort { get; }
    public int HttpPort { get; }
    public int Pid => _process.Id;
    public bool HasExited => _process.HasExited;
    public IEnumerable<string> Output => _output;

    /// <summary>The built service dll next to this test assembly's configuration.</summary>
    public static string ServiceDll() => Infrastructure.BuiltService.DllPath;

    private static ProcessStartInfo StartInfo(IReadOnlyDictionary<string, string> settings, IEnumerable<string> args)
    {
        var dll = ServiceDll();
        var info = new ProcessStartInfo(Infrastructure.BuiltService.DotnetHost, [dll, .. args])
        {
            WorkingDirectory = Path.GetDirectoryName(dll)!,
            RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        info.Environment["DOTNET_ENVIRONMENT"] = "Testing";
        info.Environment["ASPNETCORE_ENVIRONMENT"] = "Testing";
        foreach (var (k, v) in settings) info.Environment[k.Replace(":", "__")] = v;
        return info;
    }

    /// <summary>Starts an instance on the given ports and waits (bounded) until /healthz answers.</summary>
    public static async Task<ServiceProcess> StartAsync(string name, int grpcPort, int httpPort, IReadOnlyDictionary<string, string> settings)
    {
        var all = new Dictionary<string, string>(settings)
        {
            ["Kestrel:Endpoints:Grpc:Url"] = $"http://127.0.0.1:{grpcPort}",
            ["Kestrel:Endpoints:Http:Url"] = $"http://127.0.0.1:{httpPort}",
            ["Kestrel:Endpoints:OpenAI:Url"] = "http://127.0.0.1:0",   // the OpenAI-compatible listener: not used here, on a port the system picks
        };
        var instance = new ServiceProcess(Process.Start(StartInfo(all, []))!, grpcPort, httpPort, name);
        try
        {
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
            var started = Stopwatch.StartNew();
            while (true)
            {
                if (instance.HasExited) throw new InvalidOperationException($"{name} exited at start:\n{string.Join("\n", instance.Output)}");
                try { if ((await http.GetAsync($"http://127.0.0.1:{httpPort}/healthz")).IsSuccessStatusCode) return instance; }
                catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException) { }
                if (started.Elapsed > TimeSpan.FromSeconds(30)) throw new TimeoutException($"{name} did not come up within 30 s:\n{string.Join("\n", instance.Output)}");
                await Task.Delay(100); // bounded polling of a child process
            }
        }
        catch
        {
            await instance.DisposeAsync(); // never left running
            throw;
        }
    }

    /// <summary>Runs <c>IntegrationApi.dll &lt;args&gt;</c> (e.g. <c>keys create …</c>) with these settings; its exit code and output.</summary>
    public static async Task<(int ExitCode, string Output)> RunCommandAsync(IReadOnlyDictionary<string, string> settings, params string[] args)
    {
        using var process = Process.Start(StartInfo(settings, args))!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await stdout + await stderr);
    }

    /// <summary>SIGTERM: the service drains and stops by itself.</summary>
    public void Terminate() => Signal(15);

    /// <summary>SIGKILL: the instance is gone at once, mid-whatever.</summary>
    public void Kill() => Signal(9);

    private void Signal(int signal)
    {
        if (_process.HasExited) return;
        using var kill = Process.Start(new ProcessStartInfo("kill", [$"-{signal}", _process.Id.ToString()]) { UseShellExecute = false })!;
        kill.WaitForExit(10_000);
        if (kill.ExitCode != 0) throw new InvalidOperationException($"kill -{signal} {_process.Id} failed");
    }

    public async Task<int> WaitForExitAsync(TimeSpan limit)
    {
        using var timeout = new CancellationTokenSource(limit);
        await _process.WaitForExitAsync(timeout.Token);
        return _process.ExitCode;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
        _process.Dispose();
    }
}

/// <summary>Debian's HAProxy in front of the instances: HTTP/2 cleartext in, HTTP/2 to each backend, least connections.</summary>
public sealed class HaproxyProcess : IAsyncDisposable
{
    public const string Variable = "INTEGRATION_API_TEST_HAPROXY";
    private readonly Process _process;
    private readonly ConcurrentQueue<string> _output = new();

    private HaproxyProcess(Process process, int port)
    {
        (_process, Port) = (process, port);
        _process.OutputDataReceived += (_, e) => { if (e.Data is not null) _output.Enqueue(e.Data); };
        _process.ErrorDataReceived += (_, e) => { if (e.Data is not null) _output.Enqueue(e.Data); };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    public int Port { get; }
    public IEnumerable<string> Output => _output;

    public static string? FindBinary() =>
        Environment.GetEnvironmentVariable(Variable) is { Length: > 0 } configured ? configured
        : File.Exists("/usr/sbin/haproxy") ? "/usr/sbin/haproxy" : null;

    /// <summary>The configuration: health checks every 300 ms so a stopped or killed instance leaves the pool at once.</summary>
    public static string Config(int port, IEnumerable<int> backends) => $$"""
        global
            maxconn 2000
        defaults
            mode http
            timeout connect 2s
            timeout client 60s
            timeout server 60s
            retries 3
            option redispatch
        frontend grpc_in
            bind 127.0.0.1:{{port}} proto h2
            default_backend instances
        backend instances
            balance leastconn
        {{string.Join("\n", backends.Select((p, i) => $"    server i{i + 1} 127.0.0.1:{p} proto h2 check inter 300ms fall 1 rise 1"))}}
        """;

    public static async Task<HaproxyProcess> StartAsync(int port, IEnumerable<int> backends)
    {
        var file = Path.Combine(Path.GetTempPath(), $"integration-api-haproxy-{Guid.NewGuid():N}.cfg");
        await File.WriteAllTextAsync(file, Config(port, backends) + "\n");
        var proxy = new HaproxyProcess(Process.Start(new ProcessStartInfo(FindBinary()!, ["-db", "-f", file])
        {
            RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        })!, port);
        var started = Stopwatch.StartNew();
        while (true)
        {
            if (proxy._process.HasExited) throw new InvalidOperationException($"haproxy exited:\n{string.Join("\n", proxy.Output)}");
            try
            {
                using var tcp = new System.Net.Sockets.TcpClient();
                await tcp.ConnectAsync(System.Net.IPAddress.Loopback, port);
                return proxy;
            }
            catch (System.Net.Sockets.SocketException) { }
            if (started.Elapsed > TimeSpan.FromSeconds(10)) throw new TimeoutException("haproxy did not listen within 10 s");
            await Task.Delay(50);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill();
            await _process.WaitForExitAsync();
        }
        _process.Dispose();
    }
}
