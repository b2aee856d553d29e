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
        // The common text chunk without its object graph; the rest deserialized (OpenAIChunkReader).
        Parse = SseEvents.Json(OpenAIJsonContext.Default.OpenAIChunk, "[DONE]", OpenAIChunkReader.TryRead),
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
