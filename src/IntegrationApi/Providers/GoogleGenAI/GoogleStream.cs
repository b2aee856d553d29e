using IntegrationApi.Providers.Sse;

namespace IntegrationApi.Providers.GoogleGenAI;

/// <summary>The streaming side of generateContent; Gemini and Vertex AI add only the URL and auth.</summary>
internal static class GoogleStream
{
    /// <summary>
    /// <c>GenerateContentResponse</c> chunks with no end marker: the body just ends, and a body that ends before a chunk
    /// with a <c>finishReason</c> was cut (https://ai.google.dev/api/generate-content#method:-models.streamgeneratecontent).
    /// Chunks after that one are still read.
    /// </summary>
    public static SseDialect<GoogleResponse, GoogleStreamContext> Dialect { get; } = new()
    {
        Parse = SseEvents.Json(GoogleJsonContext.Default.GoogleResponse),
        Translate = static (stream, _, response, updates) => GoogleWire.FromResponse(response, stream.Provider, stream.State, updates),
        End = SseEnd.BodyAfterLastEvent,
        EndName = "a finishReason",
        DescribeError = GoogleWire.DescribeError,
    };

    /// <summary>The JSON body as UTF-8 content.</summary>
    public static ByteArrayContent ToContent(GoogleRequest request) => ProviderHttp.JsonBody(request, GoogleJsonContext.Default.GoogleRequest);
}

/// <summary>One generateContent stream: the provider's name and what translation remembers between chunks.</summary>
internal readonly record struct GoogleStreamContext(string Provider) : ISseContext
{
    public GoogleStreamState State { get; } = new();
}
