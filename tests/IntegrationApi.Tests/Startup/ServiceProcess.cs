using System.Diagnostics;
using System.Text;
using IntegrationApi.Tests.Infrastructure;

namespace IntegrationApi.Tests.Startup;

/// <summary>
/// The built service (<c>src/IntegrationApi/bin/CONFIGURATION/net10.0/IntegrationApi.dll</c>, laid out as
/// <c>dotnet publish</c> lays it out: appsettings*.json next to it) run as a child process, as an operator runs it:
/// <c>dotnet IntegrationApi.dll ...</c> from a working folder of the test's own. Its output is kept; every wait is bounded.
/// </summary>
internal sealed class ServiceProcess : IAsyncDisposable
{
    public static readonly TimeSpan Limit = TimeSpan.FromSeconds(60); // a cold start on a loaded 2-core machine

    private readonly Process _process;
    private readonly StringBuilder _stdout = new(), _stderr = new();
    private readonly List<string> _listening = [];
    private readonly TaskCompletionSource<(string Grpc, string Http)> _listeningBoth = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private ServiceProcess(Process process) => _process = process;

    public int ProcessId => _process.Id;

    public string Stdout { get { lock (_stdout) return _stdout.ToString(); } }
    public string Stderr { get { lock (_stderr) return _stderr.ToString(); } }

    /// <summary>The service's entry assembly, built with the tests (same configuration).</summary>
    public static string BinaryPath { get; } = FindBinary();

    /// <summary>
    /// Starts <c>dotnet IntegrationApi.dll <paramref name="args"/></c> in <paramref name="workingDirectory"/> with the
    /// test runner's environment minus anything that configures the service, plus <paramref name="environment"/>.
    /// </summary>
    public static ServiceProcess Start(string workingDirectory, IEnumerable<string> args, IReadOnlyDictionary<string, string>? environment = null)
    {
        var info = new ProcessStartInfo(DotnetHost())
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add(BinaryPath);
        foreach (var arg in args) info.ArgumentList.Add(arg);
        foreach (var key in info.Environment.Keys.ToArray())
            if (key.Contains("__", StringComparison.Ordinal) || key.StartsWith("ASPNETCORE_", StringComparison.OrdinalIgnoreCase)
                || key is "DOTNET_ENVIRONMENT" or "DOTNET_CONTENTROOT" or "OTEL_SERVICE_NAME" or "OTEL_RESOURCE_ATTRIBUTES")
                info.Environment.Remove(key);
        foreach (var (key, value) in environment ?? new Dictionary<string, string>()) info.Environment[key] = value;

        var process = new Process { StartInfo = info, EnableRaisingEvents = true };
        var service = new ServiceProcess(process);
        process.OutputDataReceived += (_, e) => service.Received(e.Data, service._stdout);
        process.ErrorDataReceived += (_, e) => service.Received(e.Data, service._stderr);
        process.Exited += (_, _) => service._listeningBoth.TrySetException(new Xunit.Sdk.XunitException(
            $"the service exited before listening\nstdout:\n{service.Stdout}\nstderr:\n{service.Stderr}"));
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return service;
    }

    /// <summary>The gRPC and HTTP addresses, from the service's "Now listening on:" lines (endpoints in key order: Grpc, then Http).</summary>
    public Task<(string Grpc, string Http)> ListeningAsync() => _listeningBoth.Task.WaitAsync(Limit);

    /// <summary>Its exit code; fails the test if it has not exited within <see cref="Limit"/>.</summary>
    public async Task<int> ExitCodeAsync()
    {
        using var timeout = new CancellationTokenSource(Limit);
        try
        {
            await _process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            throw new Xunit.Sdk.XunitException($"the service did not exit within {Limit}\nstdout:\n{Stdout}\nstderr:\n{Stderr}");
        }
        return _process.ExitCode;
    }

    private void Received(string? line, StringBuilder into)
    {
        if (line is null) return;
        lock (into) into.AppendLine(line);
        const string Listening = "Now listening on: ";
        var at = line.IndexOf(Listening, StringComparison.Ordinal);
        if (at < 0) return;
        lock (_listening)
        {
            _listening.Add(line[(at + Listening.Length)..].Trim());
            if (_listening.Count == 2) _listeningBoth.TrySetResult((_listening[0], _listening[1]));
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync().WaitAsync(Limit);
        }
        _process.Dispose();
    }

    private static string DotnetHost() => BuiltService.DotnetHost;

    private static string FindBinary() => File.Exists(BuiltService.DllPath) ? BuiltService.DllPath
        : throw new InvalidOperationException($"build the service first: {BuiltService.DllPath} is missing");
}
