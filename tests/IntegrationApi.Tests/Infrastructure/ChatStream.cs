using System.Text;
using Grpc.Core;
using Proto = IntegrationApi.Contracts;

namespace IntegrationApi.Tests.Infrastructure;

/// <summary>A StreamChat call with helpers to send requests and collect responses per request.</summary>
public sealed class ChatStream(AsyncDuplexStreamingCall<Proto.ChatRequest, Proto.ChatResponse> call) : IDisposable
{
    private readonly List<Proto.ChatResponse> _received = [];

    public AsyncDuplexStreamingCall<Proto.ChatRequest, Proto.ChatResponse> Call { get; } = call;

    /// <summary>Every response read so far, in arrival order.</summary>
    public IReadOnlyList<Proto.ChatResponse> Received => _received;

    public Task SendAsync(Proto.ChatRequest request) => Call.RequestStream.WriteAsync(request).DefaultTimeout();

    public Task CancelAsync(string clientRequestId) =>
        SendAsync(new Proto.ChatRequest { Action = Proto.ChatAction.Cancel, ClientRequestId = clientRequestId });

    public Task CompleteAsync() => Call.RequestStream.CompleteAsync().DefaultTimeout();

    /// <summary>Reads the next response, or null when the server ended the call.</summary>
    public async Task<Proto.ChatResponse?> ReadAsync()
    {
        if (!await Call.ResponseStream.MoveNext(CancellationToken.None).DefaultTimeout()) return null;
        _received.Add(Call.ResponseStream.Current);
        return Call.ResponseStream.Current;
    }

    /// <summary>Reads until a response satisfies <paramref name="predicate"/>, and returns it.</summary>
    public async Task<Proto.ChatResponse> ReadUntilAsync(Func<Proto.ChatResponse, bool> predicate)
    {
        while (await ReadAsync() is { } response)
            if (predicate(response)) return response;
        throw new InvalidOperationException("the call ended before the expected response");
    }

    /// <summary>Returns the first response, already read or still to come, that satisfies <paramref name="predicate"/>.</summary>
    public async Task<Proto.ChatResponse> WaitForAsync(Func<Proto.ChatResponse, bool> predicate) =>
        _received.FirstOrDefault(predicate) ?? await ReadUntilAsync(predicate);

    /// <summary>Reads until <paramref name="count"/> terminal responses arrived.</summary>
    public async Task<List<Proto.ChatResponse>> ReadTerminalsAsync(int count)
    {
        var terminals = new List<Proto.ChatResponse>();
        while (terminals.Count < count)
            terminals.Add(await ReadUntilAsync(IsTerminal));
        return terminals;
    }

    /// <summary>Reads to the end of the call and returns its status.</summary>
    public async Task<Status> ReadToEndAsync()
    {
        while (await ReadAsync() is not null) { }
        return Call.GetStatus();
    }

    /// <summary>The concatenated delta text of one request.</summary>
    public string DeltaText(string clientRequestId = "") => string.Concat(
        _received.Where(r => r.ClientRequestId == clientRequestId && !IsTerminal(r))
                 .SelectMany(r => r.Data.Contents).Select(c => c.Content_.ToStringUtf8()));

    public static bool IsTerminal(Proto.ChatResponse response) => response.FinishReason.Length > 0;

    public void Dispose() => Call.Dispose();
}

/// <summary>Reading a terminal response.</summary>
public static class ChatResponseExtensions
{
    public static string Text(this Proto.ChatResponse response) =>
        string.Concat(response.Data?.Contents.Where(c => c.ContentType == "text").Select(c => c.Content_.ToStringUtf8()) ?? []);

    public static string? Metric(this Proto.ChatResponse response, string name) =>
        response.Metrics.FirstOrDefault(m => m.Name == name)?.Value;

    public static string Describe(this Proto.ChatResponse response) =>
        new StringBuilder().Append(response.Code).Append(' ').Append(response.FinishReason).Append(' ')
            .Append(response.Error?.ErrorMessage).ToString();
}
