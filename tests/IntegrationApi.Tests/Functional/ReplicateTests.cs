using IntegrationApi.Testing;
using IntegrationApi.Tests.Infrastructure;
using static IntegrationApi.Tests.Infrastructure.TestRequests;

namespace IntegrationApi.Tests.Functional;

/// <summary>Replicate's two-step protocol: the prompt built from the conversation, usage from metrics, cancel on abandon.</summary>
public sealed class ReplicateTests
{
    [Fact]
    public async Task Conversation_BecomesSystemPromptAndTranscript_UsageFromMetrics()
    {
        await using var gateway = await TestGateway.StartAsync();
        var fake = (ReplicateFake)gateway.Fake("replicate");
        fake.DefaultScript = new FakeScript { TextChunks = ["Line one\nline two", " and more"], InputTokens = 31, OutputTokens = 6 };
        var request = gateway.NewChat("replicate", "And in French?");
        request.Conversations.Insert(0, Message("system", "You are terse."));
        request.Conversations.Insert(1, Message("user", "Say hello."));
        request.Conversations.Insert(2, Message("assistant", "Hello."));
        request.ModelParameters["model.stop"] = Param(Google.Protobuf.WellKnownTypes.Value.ForString("END,STOP"));

        var response = await gateway.ChatAsync("replicate", request);

        Assert.True(response.Success, response.Describe());
        Assert.Equal("Line one\nline two and more", response.Text()); // multi-line data and the doubled space survive
        Assert.Equal(("31", "6", "37"), (response.Metric("INPUT_TOKEN"), response.Metric("OUTPUT_TOKEN"), response.Metric("TOTAL_TOKEN")));
        var sent = fake.Requests[0];
        Assert.Equal("/v1/models/meta/meta-llama-3-8b-instruct/predictions", sent.Path);
        var input = sent.Json!.Value.GetProperty("input");
        Assert.Equal("You are terse.", input.GetProperty("system_prompt").GetString());
        Assert.Equal("User: Say hello.\n\nAssistant: Hello.\n\nUser: And in French?\n\nAssistant:", input.GetProperty("prompt").GetString());
        Assert.Equal("END,STOP", input.GetProperty("stop_sequences").GetString());
    }

    [Fact]
    public async Task CancelledRequest_CancelsThePrediction()
    {
        await using var gateway = await TestGateway.StartAsync();
        var fake = (ReplicateFake)gateway.Fake("replicate");
        fake.DefaultScript = new FakeScript { TextChunks = ["a", "b"], Fault = FakeFault.Stall, FaultAfterChunks = 1 };
        using var stream = gateway.OpenStream("replicate");
        await stream.SendAsync(gateway.NewChat("replicate", "hi", "x"));
        await stream.ReadAsync();
        await stream.CancelAsync("x");
        Assert.Equal(499, (await stream.ReadUntilAsync(ChatStream.IsTerminal)).Code);
        await fake.Requests[0].Aborted.DefaultTimeout();

        await fake.FirstCancel.DefaultTimeout(); // the cancel call is fire-and-forget
        Assert.Single(fake.CancelledPredictions);
    }

    [Fact]
    public async Task StreamUrlOnAnotherHost_NotFetched_502_PredictionCancelled()
    {
        await using var elsewhere = new RecordingListener();
        await using var gateway = await TestGateway.StartAsync();
        var fake = (ReplicateFake)gateway.Fake("replicate");
        fake.RewriteUrl = (kind, url) => kind == "stream" ? elsewhere.Url + "/v1/files/stream-1?signature=secret-sig" : url;

        var response = await gateway.ChatAsync("replicate", gateway.NewChat("replicate", "hi"));

        Assert.Equal(502, response.Code);
        Assert.Contains("stream URL on " + elsewhere.Url + ", not https on api.replicate.com, stream.replicate.com; it was not fetched", response.Error.ErrorMessage);
        Assert.DoesNotContain("secret-sig", response.Error.ErrorMessage);
        Assert.Single(fake.Requests); // not retried
        await fake.FirstCancel.DefaultTimeout(); // the prediction nobody will read stops costing
        Assert.False(elsewhere.SawConnection, "the stream URL's host was contacted");
    }

    [Fact]
    public async Task GetAndCancelUrlsOnAnotherHost_NotFetched_AnswerStands()
    {
        await using var elsewhere = new RecordingListener();
        await using var gateway = await TestGateway.StartAsync();
        var fake = (ReplicateFake)gateway.Fake("replicate");
        fake.DefaultScript = new FakeScript { TextChunks = ["Hello", " there"] };
        fake.RewriteUrl = (kind, url) => kind == "stream" ? url : elsewhere.Url + "/v1/predictions/p1" + (kind == "cancel" ? "/cancel" : "");

        var response = await gateway.ChatAsync("replicate", gateway.NewChat("replicate", "hi"));

        Assert.True(response.Success, response.Describe());
        Assert.Equal("Hello there", response.Text());
        Assert.Null(response.Metric("INPUT_TOKEN")); // the counts live behind the refused get URL
        Assert.False(elsewhere.SawConnection, "the get URL's host was contacted");
    }

    [Theory]
    [InlineData("llama")]
    [InlineData("meta/llama/extra")]
    [InlineData("../../x/y")]
    [InlineData("../x")]
    [InlineData("meta/..")]
    [InlineData("meta/.")]
    public async Task BadModelName_400(string model)
    {
        await using var gateway = await TestGateway.StartAsync();
        var request = gateway.NewChat("replicate", "hi");
        request.ModelParameters["model.name"] = Param(Google.Protobuf.WellKnownTypes.Value.ForString(model));
        var response = await gateway.ChatAsync("replicate", request);
        Assert.Equal(400, response.Code);
        Assert.Empty(gateway.Fake("replicate").Requests);
    }
}
