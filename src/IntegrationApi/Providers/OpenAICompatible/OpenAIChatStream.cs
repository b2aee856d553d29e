using System.Text.Json;
using IntegrationApi.Providers.Sse;

namespace IntegrationApi.Providers.OpenAICompatible;

/// <summary>The streaming side of the Chat Completions dialect; OpenAI, Azure OpenAI and Mistral add only the URL and auth.</summary>
internal static class OpenAIChatStream
{
    /// <summary>
    /// Chunks of <c>chat.completion.chunk</c> JSON until <c>data: [DONE]</c>
    /// (https://platform.openai.com/docs/api-reference/chat-streaming).
    /// </summary>
    public static SseDialect<OpenAIChunk, SseContext> Dialect { get; } = new()
    {
        Parse = static (eventType, data) =>
            data.SequenceEqual("[DONE]"u8) ? new(eventType, null, true)
            : data.IsEmpty ? new(eventType, null, false)
            // The common text chunk without its object graph; the rest deserialized (OpenAIChunkReader).
            : OpenAIChunkReader.TryReadText(data, out var text) ? new(eventType, text is null ? OpenAIChunkReader.Nothing : new OpenAIChunk { Text = text }, false)
            : new(eventType, JsonSerializer.Deserialize(data, OpenAIJsonContext.Default.OpenAIChunk), false),
        Translate = static (stream, _, chunk, updates) =>
        {
            OpenAIChatWire.FromChunk(chunk, stream.Provider, updates);
            return false;
        },
        End = SseEnd.DoneMarker,
        EndName = "data: [DONE]",
        DescribeError = OpenAIChatWire.DescribeError,
    };

    /// <summary>The JSON body of <paramref name="request"/> as UTF-8 content.</summary>
    public static ByteArrayContent ToContent(OpenAIChatRequest request) => ProviderHttp.JsonBody(request, OpenAIJsonContext.Default.OpenAIChatRequest);
}
