using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using IntegrationApi.Chat;
using IntegrationApi.Providers;
using IntegrationApi.Providers.OpenAICompatible;
using IntegrationApi.Providers.Sse;

namespace IntegrationApi.Tests.Unit;

/// <summary>
/// The text-chunk fast path of the Chat Completions dialect (OpenAIChunkReader) must change nothing the translation
/// sees: every chunk, recorded or odd, gives the same updates (or the same failure) through the dialect's parser as
/// through the full deserializer.
/// </summary>
public sealed partial class OpenAIChunkReaderTests
{
    [GeneratedRegex(@"^data: (\{.*\})\s*$", RegexOptions.Multiline)]
    private static partial Regex DataLine();

    /// <summary>Every Chat Completions chunk in the recordings (OpenAI, Azure, Mistral incl. Magistral's content arrays).</summary>
    public static TheoryData<string> RecordedChunks()
    {
        var data = new TheoryData<string>();
        var seen = new HashSet<string>(StringComparer.Ordinal); // a chunk recorded twice is one case
        var root = Path.Combine(AppContext.BaseDirectory, "Recordings");
        foreach (var file in new[] { "openai/streaming.md", "azure/AzureOpenAiStreamingChatModelTest.java", "mistral/streaming.md", "mistral/mistral-reasoning.chunks.txt" })
            foreach (Match m in DataLine().Matches(File.ReadAllText(Path.Combine(root, file))))
                if (seen.Add(m.Groups[1].Value)) data.Add(m.Groups[1].Value);
        return data;
    }

    public static TheoryData<string> OddChunks() =>
    [
        """{"choices":[{"index":0,"delta":{"content":"caf\u00e9 \"quoted\" \ud83d\ude00"},"finish_reason":null}]}""",
        """{"choices":[{"index":0,"delta":{"role":"assistant"},"finish_reason":null}]}""",
        """{"choices":[{"index":0,"delta":{"content":null,"tool_calls":[{"index":0,"id":"call_1","type":"function","function":{"name":"f","arguments":""}}]},"finish_reason":null}]}""",
        """{"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}""",
        """{"choices":[{"index":0,"delta":{},"finish_reason":"error"}]}""",
        """{"choices":[],"usage":{"prompt_tokens":5,"completion_tokens":7,"total_tokens":12}}""",
        """{"choices":null,"usage":null}""",
        """{"error":{"message":"overloaded","type":"server_error","code":"server_error"}}""",
        """{"choices":[{"index":0,"delta":{"content":[{"type":"thinking","thinking":[{"type":"text","text":"hm"}]}]}}]}""",
        """{"choices":[{"index":0,"delta":{"content":"a"}},{"index":1,"delta":{"content":"b"}}]}""",
        """{"choices":[{"index":0,"delta":{"content":"a"}},7]}""",
        """{"extra":{"nested":[1,{"x":null}]},"choices":[{"index":0,"delta":{"content":"x","extra":[true]},"logprobs":{"content":[]}}]}""",
        """{"choices":[{"index":0,"delta":{"content":5}}]}""",
        """{"choices":[{"index":"0","delta":{"content":"x"}}]}""",
        """{"choices":[{"index":0,"delta":{"role":7,"content":"x"}}]}""",
        """{"choices":[{"index":0,"delta":{"content":"x"}}]} trailing""",
        """{"choices":[{"index":0,"delta":{"content":"x"}}]""",
        """{"choices":{"index":0}}""",
        """[1,2]""",
        """{"choices":[{"index":0,"delta":null,"finish_reason":null}]}""",
    ];

    [Theory]
    [MemberData(nameof(RecordedChunks))]
    [MemberData(nameof(OddChunks))]
    public void DialectParser_GivesWhatTheFullDeserializerGives(string json)
    {
        Assert.Equal(Describe(() => Translate(Full(json))), Describe(() => Translate(ViaDialect(json))));
    }

    [Fact]
    public void PlainTextChunks_SkipTheDeserializer_OthersDoNot()
    {
        Assert.True(OpenAIChunkReader.TryReadText("""{"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"Hi"},"logprobs":null,"finish_reason":null}]}"""u8, out var text));
        Assert.Equal("Hi", text);
        Assert.True(OpenAIChunkReader.TryReadText("""{"choices":[{"index":0,"delta":{"role":"assistant","content":null}}]}"""u8, out text));
        Assert.Null(text);
        Assert.False(OpenAIChunkReader.TryReadText("""{"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}"""u8, out _));
        Assert.False(OpenAIChunkReader.TryReadText("""{"choices":[],"usage":{"prompt_tokens":1}}"""u8, out _));
        Assert.False(OpenAIChunkReader.TryReadText("""{"choices":[{"delta":{"tool_calls":[{"index":0}]}}]}"""u8, out _));
        Assert.False(OpenAIChunkReader.TryReadText("""{"choices":[{"delta":{"content":"x"}}]} x"""u8, out _));
    }

    private static OpenAIChunk? Full(string json) => JsonSerializer.Deserialize(Encoding.UTF8.GetBytes(json), OpenAIJsonContext.Default.OpenAIChunk);

    private static OpenAIChunk? ViaDialect(string json) => OpenAIChatStream.Dialect.Parse("", Encoding.UTF8.GetBytes(json)).Data;

    private static List<ChatUpdate> Translate(OpenAIChunk? chunk)
    {
        var updates = new List<ChatUpdate>();
        if (chunk is not null) OpenAIChatStream.Dialect.Translate(new SseContext("openai"), "", chunk, updates);
        return updates;
    }

    /// <summary>The updates as text, or the failure's type and message.</summary>
    private static string Describe(Func<List<ChatUpdate>> run)
    {
        try
        {
            return string.Join("\n", run().Select(u =>
                $"{u.Kind}|{u.Text}|{u.Index}|{u.ToolCallId}|{u.ToolName}|{u.ArgumentsDelta}|{u.FinishReason}|{u.Usage}|{(u.Meta is null ? "" : string.Join(",", u.Meta))}"));
        }
        catch (Exception ex) when (ex is JsonException or ProviderException)
        {
            return $"{ex.GetType().Name}: {ex.Message}";
        }
    }
}
