using System.Text.Json;

namespace IntegrationApi.Testing;

/// <summary>A request a fake received: what was sent, and whether the client aborted it.</summary>
public sealed class RecordedRequest
{
    private readonly TaskCompletionSource _aborted = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _finished = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _streaming = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _chunksWritten;

    internal RecordedRequest(string connectionId, string method, string path, string query, IReadOnlyDictionary<string, string> headers, string body)
    {
        (ConnectionId, Method, Path, Query, Headers, Body) = (connectionId, method, path, query, headers, body);
        try { Json = JsonDocument.Parse(body).RootElement; } catch (JsonException) { }
    }

    /// <summary>The TCP connection the request came on (reuse shows connection pooling).</summary>
    public string ConnectionId { get; }
    public string Method { get; }
    public string Path { get; }
    public string Query { get; }
    /// <summary>Request headers, names lower-cased.</summary>
    public IReadOnlyDictionary<string, string> Headers { get; }
    public string Body { get; }
    /// <summary>The body parsed, when it is JSON.</summary>
    public JsonElement? Json { get; }

    /// <summary>Completes when the client closed the connection before the answer was complete.</summary>
    public Task Aborted => _aborted.Task;
    /// <summary>Completes when the fake finished handling the request (answered in full, failed, or aborted).</summary>
    public Task Finished => _finished.Task;
    public bool WasAborted => _aborted.Task.IsCompleted;
    /// <summary>Completes when the fake began its streamed answer (status and headers are on their way to the client).</summary>
    public Task Streaming => _streaming.Task;
    /// <summary>Content chunks written and flushed so far.</summary>
    public int ChunksWritten => Volatile.Read(ref _chunksWritten);

    internal void MarkAborted() => _aborted.TrySetResult();
    internal void MarkFinished() => _finished.TrySetResult();
    internal void MarkStreaming() => _streaming.TrySetResult();
    internal void CountChunk() => Interlocked.Increment(ref _chunksWritten);

    /// <summary>Header value or null.</summary>
    public string? Header(string name) => Headers.GetValueOrDefault(name.ToLowerInvariant());
}
