using System.Text;
using System.Threading.Channels;
using IntegrationApi.Cli;
using IntegrationApi.Tests.Infrastructure;

namespace IntegrationApi.Tests.Cli;

/// <summary>Runs the CLI in process through its entry point (<see cref="CliApp.RunAsync"/>), with a stdin the test types into line by line.</summary>
internal sealed class CliRunner
{
    public LineReader Input { get; } = new();
    public WatchedWriter Output { get; } = new();
    public WatchedWriter Error { get; } = new();

    /// <summary>The gateway's gRPC address and test API key, then <paramref name="args"/>.</summary>
    public static string[] Against(TestGateway gateway, params string[] args) =>
        ["--address", "http://" + gateway.Channel.Target, "--api-key", TestGateway.ApiKey, .. args];

    public Task<int> StartAsync(params string[] args) => Task.Run(() => CliApp.RunAsync(args, Input, Output, Error));

    /// <summary>Runs to the end with an empty (closed) stdin unless lines were typed first.</summary>
    public static async Task<(int Code, string Out, string Err)> RunAsync(params string[] args)
    {
        var cli = new CliRunner();
        cli.Input.End();
        var code = await cli.StartAsync(args).DefaultTimeout();
        return (code, cli.Output.Text, cli.Error.Text);
    }
}

/// <summary>A stdin that gives a line only once the test has typed it; <see cref="End"/> is end of input.</summary>
internal sealed class LineReader : TextReader
{
    private readonly Channel<string> _lines = Channel.CreateUnbounded<string>();
    public int LinesRead;

    public void Type(string line) => _lines.Writer.TryWrite(line);
    public void End() => _lines.Writer.TryComplete();

    public override async ValueTask<string?> ReadLineAsync(CancellationToken cancellationToken)
    {
        if (!await _lines.Reader.WaitToReadAsync(cancellationToken)) return null;
        Interlocked.Increment(ref LinesRead);
        return await _lines.Reader.ReadAsync(cancellationToken);
    }

    public override Task<string?> ReadLineAsync() => ReadLineAsync(default).AsTask();
    public override string? ReadLine() => ReadLineAsync(default).AsTask().GetAwaiter().GetResult();
}

/// <summary>A stdout/stderr whose text a test can wait on.</summary>
internal sealed class WatchedWriter : TextWriter
{
    private readonly StringBuilder _text = new();
    private readonly List<(string Needle, int Count, TaskCompletionSource Seen)> _waiters = [];

    public override Encoding Encoding => Encoding.UTF8;

    public string Text { get { lock (_text) return _text.ToString(); } }

    public override void Write(char value) => Write(value.ToString());

    public override void Write(string? value)
    {
        if (value is null) return;
        lock (_text)
        {
            _text.Append(value);
            var text = _text.ToString();
            foreach (var w in _waiters.ToArray())
                if (Occurrences(text, w.Needle) >= w.Count) { w.Seen.TrySetResult(); _waiters.Remove(w); }
        }
    }

    public override void WriteLine(string? value) => Write(value + "\n");

    /// <summary>Completes once <paramref name="needle"/> has been written <paramref name="count"/> times.</summary>
    public Task WaitForAsync(string needle, int count = 1)
    {
        lock (_text)
        {
            if (Occurrences(_text.ToString(), needle) >= count) return Task.CompletedTask;
            var seen = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _waiters.Add((needle, count, seen));
            return seen.Task.DefaultTimeout();
        }
    }

    private static int Occurrences(string text, string needle)
    {
        var n = 0;
        for (var i = text.IndexOf(needle, StringComparison.Ordinal); i >= 0; i = text.IndexOf(needle, i + needle.Length, StringComparison.Ordinal)) n++;
        return n;
    }
}
