using System.Net;
using System.Text;
using IntegrationApi.Chat;
using IntegrationApi.Providers;
using IntegrationApi.Providers.Sse;
using IntegrationApi.Tests.Infrastructure;

namespace IntegrationApi.Tests.Unit;

/// <summary>The shared SSE loop: each way a dialect can end, and a body that ends before it.</summary>
public sealed class SseChatStreamTests
{
    /// <summary>Plain-text events; <c>[DONE]</c> is the done marker; an event of type <c>last</c> is the last event.</summary>
    private static SseDialect<string, SseContext> Dialect(SseEnd end) => new()
    {
        Parse = static (type, data) => data.SequenceEqual("[DONE]"u8) ? new(type, null, true) : SseEvents.Text(type, data),
        Translate = static (_, type, data, updates) =>
        {
            if (data.Length > 0) updates.Add(ChatUpdate.FromText(data));
            return type == "last";
        },
        End = end,
        EndName = "the end",
        DescribeError = static body => new ProviderErrorDescription(body),
    };

    private static async Task<List<string>> RunAsync(SseEnd end, string body)
    {
        using var client = new HttpClient(new BodyHandler(body));
        var texts = new List<string>();
        await foreach (var update in SseChatStream.StreamAsync(client, new HttpRequestMessage(HttpMethod.Post, "http://fake/"), Dialect(end), new SseContext("fake"), CancellationToken.None))
            texts.Add(update.Text!);
        return texts;
    }

    [Fact]
    public async Task StreamAsync_DoneMarker_EndsAtMarker()
    {
        Assert.Equal(["a", "b"], await RunAsync(SseEnd.DoneMarker, "data: a\n\ndata: b\n\ndata: [DONE]\n\ndata: after\n\n").DefaultTimeout());
    }

    [Fact]
    public async Task StreamAsync_LastEvent_StopsReadingThere()
    {
        Assert.Equal(["a", "b"], await RunAsync(SseEnd.LastEvent, "data: a\n\nevent: last\ndata: b\n\ndata: after\n\n").DefaultTimeout());
    }

    [Fact]
    public async Task StreamAsync_BodyAfterLastEvent_ReadsToTheBodyEnd()
    {
        Assert.Equal(["a", "b", "after"], await RunAsync(SseEnd.BodyAfterLastEvent, "data: a\n\nevent: last\ndata: b\n\ndata: after\n\n").DefaultTimeout());
    }

    [Fact]
    public async Task StreamAsync_TextEventWithEmptyData_IsTranslated()
    {
        Assert.Equal(["a"], await RunAsync(SseEnd.LastEvent, "data: a\n\nevent: last\ndata:\n\n").DefaultTimeout());
    }

    [Theory]
    [InlineData((int)SseEnd.DoneMarker, "data: a\n\nevent: last\ndata: b\n\n")]
    [InlineData((int)SseEnd.LastEvent, "data: a\n\ndata: [DONE]\n\nevent: last\ndata: b\n\n")]
    [InlineData((int)SseEnd.BodyAfterLastEvent, "data: a\n\n")]
    public async Task StreamAsync_BodyEndsBeforeTheEnd_StreamTruncated(int end, string body)
    {
        var ex = await Assert.ThrowsAsync<ProviderException>(() => RunAsync((SseEnd)end, body)).DefaultTimeout();
        Assert.Equal(ProviderErrorKind.StreamTruncated, ex.Kind);
        Assert.Equal("fake stream ended without the end", ex.Message);
    }

    private sealed class BodyHandler(string body) : HttpMessageHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken) =>
            Task.FromResult(new HttpResponseMessage(HttpStatusCode.OK) { Content = new StringContent(body, Encoding.UTF8, "text/event-stream") });
    }
}
