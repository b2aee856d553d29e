using System.Text.Json;
using IntegrationApi.Chat;
using IntegrationApi.Providers;
using IntegrationApi.Providers.GoogleGenAI;

namespace IntegrationApi.Tests.Unit;

/// <summary>generateContent chunk decoding: finish reasons, blocked prompts, function calls without ids, usage.</summary>
public sealed class GoogleWireTests
{
    private static (List<ChatUpdate> Updates, bool Finished) Decode(string json, GoogleStreamState? state = null)
    {
        var updates = new List<ChatUpdate>();
        var finished = GoogleWire.FromResponse(JsonSerializer.Deserialize(json, GoogleJsonContext.Default.GoogleResponse)!, "gemini", state ?? new GoogleStreamState(), updates);
        return (updates, finished);
    }

    [Theory]
    [InlineData("STOP", "stop")]
    [InlineData("MAX_TOKENS", "length")]
    [InlineData("SAFETY", "content_filter")]
    [InlineData("RECITATION", "content_filter")]
    [InlineData("PROHIBITED_CONTENT", "content_filter")]
    [InlineData("OTHER", "other")]
    public void FinishReasons(string google, string ours)
    {
        var (updates, finished) = Decode($$"""{"candidates":[{"content":{"parts":[{"text":"x"}],"role":"model"},"finishReason":"{{google}}"}]}""");
        Assert.True(finished);
        Assert.Equal(ours, updates.Single(u => u.Kind == ChatUpdateKind.Finish).FinishReason.Value);
    }

    [Fact]
    public void FunctionCallsThenStop_AreToolCallsWithUniqueIds_ThoughtsSkipped()
    {
        var state = new GoogleStreamState();
        var (calls, _) = Decode("""{"candidates":[{"content":{"parts":[{"text":"thinking...","thought":true},{"functionCall":{"name":"a","args":{"x":1}}},{"functionCall":{"name":"b","args":{}}}],"role":"model"}}]}""", state);
        var (end, finished) = Decode("""{"candidates":[{"content":{"parts":[{"text":""}],"role":"model"},"finishReason":"STOP"}]}""", state);
        Assert.DoesNotContain(calls, u => u.Kind == ChatUpdateKind.Text);
        var toolCalls = calls.Where(u => u.Kind == ChatUpdateKind.ToolCall).ToList();
        Assert.Equal(["a", "b"], toolCalls.Select(c => c.ToolName));
        Assert.Equal(2, toolCalls.Select(c => c.ToolCallId).Distinct().Count());
        Assert.Equal("{\"x\":1}", toolCalls[0].ArgumentsDelta);
        Assert.True(finished);
        Assert.Equal(ChatFinishReason.ToolCalls, end.Single(u => u.Kind == ChatUpdateKind.Finish).FinishReason);
    }

    [Fact]
    public void BlockedPrompt_ContentFilter()
    {
        var (updates, finished) = Decode("""{"promptFeedback":{"blockReason":"SAFETY"},"usageMetadata":{"promptTokenCount":4,"totalTokenCount":4}}""");
        Assert.True(finished);
        Assert.Equal(ChatFinishReason.ContentFilter, updates.Single(u => u.Kind == ChatUpdateKind.Finish).FinishReason);
    }

    [Fact]
    public void Usage_ThoughtsCountAsOutputAndReasoning()
    {
        var (updates, _) = Decode("""{"usageMetadata":{"promptTokenCount":83,"candidatesTokenCount":14,"totalTokenCount":201,"thoughtsTokenCount":104,"cachedContentTokenCount":10}}""");
        Assert.Equal(new TokenUsage(Input: 83, Output: 118, Total: 201, CachedInput: 10, Reasoning: 104), updates.Single().Usage);
    }

    [Fact]
    public void BadApiKeyBody_IsUnauthorized_RetryInfoIsADelay()
    {
        var bad = GoogleWire.DescribeError("""{"error":{"code":400,"message":"API key not valid.","status":"INVALID_ARGUMENT","details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"API_KEY_INVALID"}]}}""");
        Assert.Equal(ProviderErrorKind.Unauthorized, bad.Kind);
        var limited = GoogleWire.DescribeError("""{"error":{"code":429,"message":"quota","status":"RESOURCE_EXHAUSTED","details":[{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"34s"}]}}""");
        Assert.Equal(TimeSpan.FromSeconds(34), limited.RetryAfter);
    }
}
