using System.Diagnostics;
using System.Globalization;

namespace IntegrationApi.Bench;

/// <summary>
/// A gateway under test in its own process, pinned to one core with <c>taskset</c> (which execs the program,
/// so the pid is the gateway's). CPU time and resident memory are read from <c>/proc</c>.
/// </summary>
internal sealed class GatewayProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StreamWriter _log;

    public string Name { get; }
    public int Pid => _process.Id;

    private GatewayProcess(string name, Process process, StreamWriter log) => (Name, _process, _log) = (name, process, log);

    public static GatewayProcess Start(string name, int cpu, string program, IEnumerable<string> arguments, string? workingDirectory = null,
        IReadOnlyDictionary<string, string>? environment = null)
    {
        var info = new ProcessStartInfo("taskset")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = workingDirectory ?? BenchPaths.Work,
        };
        info.ArgumentList.Add("-c");
        info.ArgumentList.Add(cpu.ToString(CultureInfo.InvariantCulture));
        info.ArgumentList.Add(program);
        foreach (var a in arguments) info.ArgumentList.Add(a);
        foreach (var (k, v) in environment ?? new Dictionary<string, string>()) info.Environment[k] = v;
        var process = Process.Start(info) ?? throw new InvalidOperationException($"could not start {program}");
        var log = new StreamWriter(Path.Combine(BenchPaths.Work, name + ".log")) { AutoFlush = true };
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (log) log.WriteLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (log) log.WriteLine(e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return new GatewayProcess(name, process, log);
    }

    /// <summary>Polls <paramref name="probe"/> until it answers true; fails if the process exits or the time runs out.</summary>
    public async Task WaitReadyAsync(Func<Task<bool>> probe, TimeSpan timeout)
    {
        var deadline = Stopwatch.GetTimestamp() + (long)(timeout.TotalSeconds * Stopwatch.Frequency);
        while (Stopwatch.GetTimestamp() < deadline)
        {
            if (_process.HasExited) throw new InvalidOperationException($"{Name} exited with {_process.ExitCode}; see bench/.work/{Name}.log");
            try { if (await probe()) return; } catch (Exception) { /* not listening yet */ }
            await Task.Delay(100);
        }
        throw new TimeoutException($"{Name} did not become ready within {timeout}; see bench/.work/{Name}.log");
    }

    /// <summary>User + system CPU seconds the process has used so far.</summary>
    public double CpuSeconds()
    {
        var stat = File.ReadAllText($"/proc/{Pid}/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        // fields[0] is field 3 (state); utime and stime are fields 14 and 15, in clock ticks (100 per second on Linux).
        return (long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture)) / 100.0;
    }

    public long RssKb() => StatusKb("VmRSS:");
    public long PeakRssKb() => StatusKb("VmHWM:");

    private long StatusKb(string field)
    {
        foreach (var line in File.ReadLines($"/proc/{Pid}/status"))
            if (line.StartsWith(field, StringComparison.Ordinal))
                return long.Parse(line[field.Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture);
        return 0;
    }

    /// <summary>Sends SIGINT (a profiler wrapping the gateway writes its data) and waits up to 30 s for the exit.</summary>
    public async Task InterruptAsync()
    {
        if (_process.HasExited) return;
        using (var kill = Process.Start("kill", ["-INT", Pid.ToString(CultureInfo.InvariantCulture)])) await kill.WaitForExitAsync();
        using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        try { await _process.WaitForExitAsync(wait.Token); } catch (OperationCanceledException) { }
    }

    private bool _disposed;

    /// <summary>Kills the process if it still runs; a second call does nothing (a run stops HAProxy early and again on the way out).</summary>
    public async ValueTask DisposeAsync()
    {
        if (_disposed) return;
        _disposed = true;
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
        _process.Dispose();
        lock (_log) _log.Dispose();
    }
}
