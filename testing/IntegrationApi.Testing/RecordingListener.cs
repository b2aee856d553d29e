using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;

namespace IntegrationApi.Testing;

/// <summary>
/// A TCP listener on 127.0.0.1 (free port) that accepts every connection, records where it came from and closes it:
/// point something at <see cref="Url"/> that must never be contacted, then check <see cref="SawConnection"/>.
/// </summary>
public sealed class RecordingListener : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly ConcurrentQueue<string> _connections = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _acceptLoop;

    public RecordingListener()
    {
        _listener.Start();
        Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
        _acceptLoop = AcceptAsync();
    }

    /// <summary>The port listened on.</summary>
    public int Port { get; }

    /// <summary><c>http://127.0.0.1:{port}</c>.</summary>
    public string Url => $"http://127.0.0.1:{Port}";

    /// <summary>The remote end of every connection accepted so far.</summary>
    public IReadOnlyList<string> Connections => _connections.ToArray();

    /// <summary>Whether anything connected, counting a connection the kernel queued but the loop has not accepted yet.</summary>
    public bool SawConnection => !_connections.IsEmpty || (!_stop.IsCancellationRequested && _listener.Pending());

    private async Task AcceptAsync()
    {
        while (true)
        {
            Socket socket;
            try { socket = await _listener.AcceptSocketAsync(_stop.Token).ConfigureAwait(false); }
            catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException or SocketException) { return; }
            _connections.Enqueue(socket.RemoteEndPoint?.ToString() ?? "?");
            socket.Dispose();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        _listener.Stop();
        await _acceptLoop.ConfigureAwait(false);
        _stop.Dispose();
    }
}
