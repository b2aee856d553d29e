using System.Buffers;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using IntegrationApi.Chat;
using IntegrationApi.Engine;

namespace IntegrationApi.OpenAICompatible;

/// <summary>
/// Writes one request's answer in OpenAI's format: a <c>chat.completion</c> JSON body, or server-sent
/// <c>chat.completion.chunk</c> events ending in <c>data: [DONE]</c>. The stream's headers go out with its first text,
/// so a failure before any text (a provider's 401, a timeout) is still an HTTP status with OpenAI's error body.
/// </summary>
internal sealed class CompletionResponder(HttpContext context, string id, string model, long created, bool stream, bool includeUsage)
{
    private static readonly byte[] DataPrefix = "data: "u8.ToArray();
    private static readonly byte[] EventEnd = "\n\n"u8.ToArray();
    private static readonly byte[] Done = "data: [DONE]\n\n"u8.ToArray();

    /// <summary>True once the SSE headers (and the role chunk) went out: from then on a failure can only be an error event.</summary>
    public bool Started { get; private set; }

    /// <summary>One text delta (streams only), written and flushed at once: a slow reader slows the upstream read.</summary>
    public async ValueTask WriteTextAsync(string text, CancellationToken cancellationToken)
    {
        await StartAsync(cancellationToken).ConfigureAwait(false);
        await WriteChunkAsync(Chunk(new ChunkDelta(Content: text), null), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The end of a request that ran: the answer (or the rest of the stream), or the error.</summary>
    public async Task CompleteAsync(ChatOutcome outcome, string servedModel)
    {
        var ct = context.RequestAborted;
        if (outcome.Error is { } error)
        {
            await FailAsync(error).ConfigureAwait(false);
            return;
        }
        var result = outcome.Result!;
        var usage = Usage(result.Usage);
        if (!stream)
        {
            var calls = result.ToolCalls.Count == 0 ? null : result.ToolCalls.Select(c => new CompletionToolCallOut(null, c.Id, "function", new CompletionFunctionCall { Name = c.Name, Arguments = c.Arguments })).ToArray();
            var answer = new CompletionAnswer(result.Text.Length == 0 && calls is not null ? null : result.Text, calls);
            var completion = new Completion(id, created, servedModel, [new CompletionChoice(0, answer, result.FinishReason.Value)], usage);
            context.Response.StatusCode = 200;
            await context.Response.WriteAsJsonAsync(completion, OpenAIWireContext.Default.Completion, contentType: "application/json", ct).ConfigureAwait(false);
            return;
        }
        await StartAsync(ct).ConfigureAwait(false);
        // The engine streams text only; tool calls come whole at the end, one delta each (a valid OpenAI chunking).
        for (var i = 0; i < result.ToolCalls.Count; i++)
        {
            var c = result.ToolCalls[i];
            var call = new CompletionToolCallOut(i, c.Id, "function", new CompletionFunctionCall { Name = c.Name, Arguments = c.Arguments });
            await WriteChunkAsync(Chunk(new ChunkDelta(ToolCalls: [call]), null), ct).ConfigureAwait(false);
        }
        await WriteChunkAsync(Chunk(new ChunkDelta(), result.FinishReason.Value), ct).ConfigureAwait(false);
        if (includeUsage) await WriteChunkAsync(new CompletionChunk(id, created, model, [], usage), ct).ConfigureAwait(false);
        context.Response.BodyWriter.Write(Done);
        await context.Response.BodyWriter.FlushAsync(ct).ConfigureAwait(false);
    }

    /// <summary>A failure: OpenAI's error body with the contract code as status, or, once streaming, an error event (and no [DONE]).</summary>
    public async Task FailAsync(ChatError error)
    {
        var body = OpenAIErrors.Body(error);
        if (!Started)
        {
            await OpenAIErrors.WriteAsync(context, error.Code, body).ConfigureAwait(false);
            return;
        }
        // OpenAI's SDKs raise an API error for a data event with an "error" member.
        await WriteEventAsync(body, OpenAIWireContext.Default.ErrorBody, context.RequestAborted).ConfigureAwait(false);
    }

    private async ValueTask StartAsync(CancellationToken cancellationToken)
    {
        if (Started) return;
        Started = true;
        var response = context.Response;
        response.StatusCode = 200;
        response.ContentType = "text/event-stream; charset=utf-8";
        response.Headers.CacheControl = "no-cache";
        response.Headers["X-Accel-Buffering"] = "no";
        await WriteChunkAsync(Chunk(new ChunkDelta(Role: "assistant", Content: ""), null), cancellationToken).ConfigureAwait(false);
    }

    private CompletionChunk Chunk(ChunkDelta delta, string? finishReason) => new(id, created, model, [new ChunkChoice(0, delta, finishReason)]);

    private ValueTask WriteChunkAsync(CompletionChunk chunk, CancellationToken cancellationToken) =>
        WriteEventAsync(chunk, OpenAIWireContext.Default.CompletionChunk, cancellationToken);

    /// <summary><c>data: {json}</c> and a blank line, serialized straight into the response pipe, then flushed.</summary>
    private async ValueTask WriteEventAsync<T>(T value, JsonTypeInfo<T> info, CancellationToken cancellationToken)
    {
        var pipe = context.Response.BodyWriter;
        pipe.Write(DataPrefix);
        using (var json = new Utf8JsonWriter(pipe)) JsonSerializer.Serialize(json, value, info);
        pipe.Write(EventEnd);
        await pipe.FlushAsync(cancellationToken).ConfigureAwait(false);
    }

    private static CompletionUsage? Usage(TokenUsage usage)
    {
        if (usage.Input is null && usage.Output is null && usage.Total is null) return null;
        var input = usage.Input ?? 0;
        var output = usage.Output ?? 0;
        return new CompletionUsage(input, output, usage.Total ?? input + output,
            usage.CachedInput is { } cached ? new PromptTokensDetails(cached) : null,
            usage.Reasoning is { } reasoning ? new CompletionTokensDetails(reasoning) : null);
    }
}
