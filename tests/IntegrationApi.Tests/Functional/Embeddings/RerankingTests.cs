using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using IntegrationApi.Testing;
using IntegrationApi.Tests.Infrastructure;
using static IntegrationApi.Tests.Functional.Embeddings.CallTestRequests;

namespace IntegrationApi.Tests.Functional.Embeddings;

/// <summary>Reranking end to end on Cohere's /v2/rerank fake.</summary>
[Collection(AuditStores.Collection)]
public sealed class RerankingTests
{
    [Fact]
    public async Task Reranking_Cohere_BestFirstWithTheirKeysAndDocuments()
    {
        await using var gateway = await TestGateway.StartAsync();
        var request = NewReranking(gateway, "cohere", "capital of france", "Berlin is in Germany", "Paris is the capital of France", "France has wine");
        request.ModelParameters["model.top_n"] = TestRequests.Param(Value.ForNumber(2));
        var response = await gateway.RerankAsync("cohere", request);

        Assert.True(response.Success, response.Error?.ErrorMessage);
        Assert.Equal([1, 2], response.Data.Select(r => r.Index));
        Assert.Equal("Paris is the capital of France", response.Data[0].Content.Content_.ToStringUtf8());
        Assert.True(response.Data[0].RelevanceScore > response.Data[1].RelevanceScore);
        var sent = gateway.Fake("cohere").Requests.Single();
        Assert.Equal("/v2/rerank", sent.Path);
        Assert.Equal("rerank-v3.5", sent.Json!.Value.GetProperty("model").GetString());
        Assert.Equal(2, sent.Json!.Value.GetProperty("top_n").GetInt32());
        Assert.Equal("SUCCESS", response.Metrics.MetricOf("STATUS"));
    }

    [Fact]
    public async Task Reranking_MoreDocumentsThanOneCall_MergedByScore_TopNOverall()
    {
        await using var gateway = await TestGateway.StartAsync();
        var docs = Enumerable.Range(0, 2100).Select(i => i is 5 or 1500 or 2099 ? $"red apple {i}" : i == 1200 ? "red car" : $"doc {i}").ToArray();
        var request = NewReranking(gateway, "cohere", "red apple", docs);
        request.ModelParameters["model.top_n"] = TestRequests.Param(Value.ForNumber(4));
        var response = await gateway.RerankAsync("cohere", request);

        Assert.True(response.Success, response.Error?.ErrorMessage);
        Assert.Equal([5, 1500, 2099, 1200], response.Data.Select(r => r.Index));
        Assert.Equal(3, gateway.Fake("cohere").Requests.Count); // 1000 + 1000 + 100
    }

    [Fact]
    public async Task Reranking_LlmService_And_Failures()
    {
        await using var gateway = await TestGateway.StartAsync();
        var request = NewReranking(gateway, "cohere", "q", "a", "b");
        request.ProviderName = "cohere";
        Assert.True((await gateway.RerankAsync(null, request)).Success);

        gateway.Fake("cohere").Enqueue(FakeScript.Error(429, retryAfter: "0"));
        Assert.True((await gateway.RerankAsync("cohere", request)).Success); // retried

        request.Credential = TestRequests.Credential("wrong-key-123");
        Assert.Equal(401, (await gateway.RerankAsync("cohere", request)).Code);

        var bad = NewReranking(gateway, "cohere", "", "a");
        Assert.Contains("query is required", (await gateway.RerankAsync("cohere", bad)).Error.ErrorMessage);
        var v1 = NewReranking(gateway, "cohere", "q", "a");
        v1.ModelParameters["model.max_chunks_per_doc"] = TestRequests.Param(Value.ForNumber(3));
        Assert.Contains("model.max_tokens_per_doc", (await gateway.RerankAsync("cohere", v1)).Error.ErrorMessage);
        var other = NewReranking(gateway, "openai", "q", "a");
        other.ProviderName = "openai";
        Assert.Contains("has no Reranking (cohere)", (await gateway.RerankAsync(null, other)).Error.ErrorMessage);
        Assert.Equal(4, gateway.Fake("cohere").Requests.Count);
    }

    [Fact]
    public async Task Reranking_CallerCancels_UpstreamAborted()
    {
        await using var gateway = await TestGateway.StartAsync();
        var received = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        gateway.Fake("cohere").DefaultScript = new FakeScript { Fault = FakeFault.Stall };
        gateway.Fake("cohere").Responder = _ => { received.TrySetResult(); return null; };
        using var cts = new CancellationTokenSource();
        var call = gateway.RerankAsync("cohere", NewReranking(gateway, "cohere", "q", "a"), cancellationToken: cts.Token);
        await received.Task.DefaultTimeout();
        cts.Cancel();
        Assert.Equal(StatusCode.Cancelled, (await Assert.ThrowsAsync<RpcException>(() => call)).StatusCode);
        await gateway.Fake("cohere").Requests.Single().Aborted.DefaultTimeout();
    }

    [Fact]
    public async Task Reranking_UnauthenticatedCaller_Refused()
    {
        await using var gateway = await TestGateway.StartAsync();
        var error = await Assert.ThrowsAsync<RpcException>(() => gateway.RerankAsync("cohere", NewReranking(gateway, "cohere", "q", "a"), new Metadata()));
        Assert.Equal(StatusCode.Unauthenticated, error.StatusCode);
    }
}
