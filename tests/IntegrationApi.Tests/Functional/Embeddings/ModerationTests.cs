using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using IntegrationApi.Testing;
using IntegrationApi.Tests.Infrastructure;
using static IntegrationApi.Tests.Functional.Embeddings.CallTestRequests;

namespace IntegrationApi.Tests.Functional.Embeddings;

/// <summary>GetModeration end to end: OpenAI's /v1/moderations, Azure AI Content Safety's text:analyze.</summary>
[Collection(AuditStores.Collection)]
public sealed class ModerationTests
{
    [Fact]
    public async Task GetModeration_OpenAI_ScoresPerCategoryAndFlagged()
    {
        await using var gateway = await TestGateway.StartAsync();
        var response = await gateway.ModerateAsync("openai", NewModeration(gateway, "openai", "I will kill the process"));

        Assert.True(response.Success, response.Error?.ErrorMessage);
        Assert.Equal("0.9436", response.Data.Single(m => m.Name == "violence").Value);
        Assert.Equal("1.2E-05", response.Data.Single(m => m.Name == "sexual").Value);
        Assert.Equal("true", response.Data.Single(m => m.Name == "flagged").Value);
        Assert.Equal(14, response.Data.Count); // 13 categories and flagged
        var sent = gateway.OpenAI.Requests.Single();
        Assert.Equal("/v1/moderations", sent.Path);
        Assert.Equal("omni-moderation-latest", sent.Json!.Value.GetProperty("model").GetString());
        Assert.Equal("SUCCESS", response.Metrics.MetricOf("STATUS"));
    }

    [Fact]
    public async Task GetModeration_Azure_ContentSafetySeveritiesAsValues()
    {
        await using var gateway = await TestGateway.StartAsync();
        var request = NewModeration(gateway, "azure", "I hate it when I have to kill a process");
        var response = await gateway.ModerateAsync("azure", request);

        Assert.True(response.Success, response.Error?.ErrorMessage);
        Assert.Equal(["Hate", "SelfHarm", "Sexual", "Violence", "flagged"], response.Data.Select(m => m.Name));
        Assert.Equal(["2", "0", "0", "4", "true"], response.Data.Select(m => m.Value));
        var sent = gateway.Fake("azure").Requests.Single();
        Assert.Equal("/contentsafety/text:analyze", sent.Path);
        Assert.Contains("api-version=2024-09-01", sent.Query);
        Assert.Equal("test-key", sent.Header("ocp-apim-subscription-key"));

        // The flag threshold is the caller's; categories narrow the analysis.
        request.ModelParameters["model.flag_severity"] = TestRequests.Param(Value.ForNumber(6));
        request.ModelParameters["model.categories"] = TestRequests.Param(Value.ForString("Violence,Hate"));
        var strict = await gateway.ModerateAsync("azure", request);
        Assert.Equal(["Violence", "Hate", "flagged"], strict.Data.Select(m => m.Name));
        Assert.Equal("false", strict.Data.Last().Value);
    }

    [Theory]
    [InlineData("openai")]
    [InlineData("azure")]
    public async Task GetModeration_ProviderRejectsTheKey_401(string provider)
    {
        await using var gateway = await TestGateway.StartAsync();
        var response = await gateway.ModerateAsync(provider, NewModeration(gateway, provider, "hello", key: "wrong-key-123"));
        Assert.Equal(401, response.Code);
        Assert.DoesNotContain("wrong-key-123", response.Error.ErrorMessage);
    }

    [Theory]
    [InlineData("openai")]
    [InlineData("azure")]
    public async Task GetModeration_RateLimitedOnce_Retried(string provider)
    {
        await using var gateway = await TestGateway.StartAsync();
        gateway.Fake(provider).Enqueue(FakeScript.Error(429, retryAfter: "0"));
        var response = await gateway.ModerateAsync(provider, NewModeration(gateway, provider, "hello"));
        Assert.True(response.Success, response.Error?.ErrorMessage);
        Assert.Equal(2, gateway.Fake(provider).Requests.Count);
    }

    [Fact]
    public async Task GetModeration_CallerCancels_UpstreamAborted()
    {
        await using var gateway = await TestGateway.StartAsync();
        var received = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        gateway.Fake("azure").DefaultScript = new FakeScript { Fault = FakeFault.Stall };
        gateway.Fake("azure").Responder = _ => { received.TrySetResult(); return null; };
        using var cts = new CancellationTokenSource();
        var call = gateway.ModerateAsync("azure", NewModeration(gateway, "azure", "hold on"), cancellationToken: cts.Token);
        await received.Task.DefaultTimeout();
        cts.Cancel();
        Assert.Equal(StatusCode.Cancelled, (await Assert.ThrowsAsync<RpcException>(() => call)).StatusCode);
        await gateway.Fake("azure").Requests.Single().Aborted.DefaultTimeout();
    }

    [Fact]
    public async Task GetModeration_BadInput_400BeforeAnyUpstreamCall()
    {
        await using var gateway = await TestGateway.StartAsync();
        var tooLong = await gateway.ModerateAsync("azure", NewModeration(gateway, "azure", new string('a', 10_001)));
        Assert.Equal(400, tooLong.Code);
        Assert.Contains("at most 10000", tooLong.Error.ErrorMessage);
        var empty = await gateway.ModerateAsync("openai", NewModeration(gateway, "openai", ""));
        Assert.Equal(400, empty.Code);
        var foreignHost = NewModeration(gateway, "azure", "hello");
        foreignHost.Credential.Value.Fields["endpoint"] = Value.ForString("https://attacker.example.com");
        var refused = await gateway.ModerateAsync("azure", foreignHost);
        Assert.Equal(400, refused.Code);
        Assert.Contains("not an allowed", refused.Error.ErrorMessage);
        var badLevel = NewModeration(gateway, "azure", "hello");
        badLevel.ModelParameters["model.output_type"] = TestRequests.Param(Value.ForString("TwoLevels"));
        Assert.Equal(400, (await gateway.ModerateAsync("azure", badLevel)).Code);
        Assert.Empty(gateway.Fake("azure").Requests);
        Assert.Empty(gateway.OpenAI.Requests);

        var llm = NewModeration(gateway, "gemini", "hello");
        llm.ProviderName = "gemini";
        var none = await gateway.ModerateAsync(null, llm);
        Assert.Equal(400, none.Code);
        Assert.Contains("has no GetModeration (azure, openai)", none.Error.ErrorMessage);
    }

    [Fact]
    public async Task GetModeration_UnauthenticatedCaller_Refused()
    {
        await using var gateway = await TestGateway.StartAsync();
        var error = await Assert.ThrowsAsync<RpcException>(() => gateway.ModerateAsync("azure", NewModeration(gateway, "azure", "hi"), new Metadata()));
        Assert.Equal(StatusCode.Unauthenticated, error.StatusCode);
    }
}
