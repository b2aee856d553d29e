using Google.Protobuf.WellKnownTypes;
using IntegrationApi.Testing;
using IntegrationApi.Tests.Infrastructure;
using static IntegrationApi.Tests.Functional.Embeddings.CallTestRequests;

namespace IntegrationApi.Tests.Functional.Embeddings;

/// <summary>The per-principal limit and the metrics of the non-chat RPCs.</summary>
[Collection(AuditStores.Collection)]
public sealed class CallLimitsAndMetricsTests
{
    [Fact]
    public async Task Embedding_PrincipalAtItsLimit_429_SharedWithChat()
    {
        await using var gateway = await TestGateway.StartAsync(new Dictionary<string, string?> { ["Engine:MaxConcurrentRequestsPerPrincipal"] = "1" });
        var received = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        gateway.Fake("cohere").Responder = _ => { received.TrySetResult(); return new FakeScript { FaultGate = release.Task }; };
        var first = gateway.RerankAsync("cohere", NewReranking(gateway, "cohere", "q", "a"));
        await received.Task.DefaultTimeout();

        var refused = await gateway.EmbedAsync("openai", Embedding(gateway, "openai", "hello"));
        Assert.Equal(429, refused.Code);
        var chat = await gateway.ChatAsync("openai", gateway.NewChat("openai", "hi")).DefaultTimeout(); // one limit for every RPC
        Assert.Equal(429, chat.Code);
        Assert.Empty(gateway.OpenAI.Requests);

        release.SetResult();
        Assert.True((await first).Success);
        Assert.True((await gateway.EmbedAsync("openai", Embedding(gateway, "openai", "hello"))).Success);
    }

    [Fact]
    public async Task Embedding_Metrics_CallsDurationTokensAndGenAiOperation()
    {
        await using var gateway = await TestGateway.StartAsync();
        using var recorder = new MeasurementRecorder(gateway, "integration_api.calls", "integration_api.call.duration", "integration_api.tokens",
            "integration_api.retries", "gen_ai.client.operation.duration");
        gateway.OpenAI.Enqueue(FakeScript.Error(429, retryAfter: "0"));
        var response = await gateway.EmbedAsync("openai", Embedding(gateway, "openai", "hello world").With("model.name", Value.ForString("text-embedding-3-small")));
        Assert.True(response.Success);

        var call = Assert.Single(recorder.Of("integration_api.calls"));
        Assert.Equal(("embeddings", "openai", "200"), (call.Tags["operation"], call.Tags["provider"], call.Tags["code"]));
        Assert.Single(recorder.Of("integration_api.call.duration"));
        Assert.Equal(1, Assert.Single(recorder.Of("integration_api.retries")).Value);
        var tokens = Assert.Single(recorder.Of("integration_api.tokens"));
        Assert.Equal(("input", double.Parse(response.Metrics.MetricOf("INPUT_TOKEN")!)), (tokens.Tags["direction"], tokens.Value));
        Assert.Equal("embeddings", Assert.Single(recorder.Of("gen_ai.client.operation.duration")).Tags["gen_ai.operation.name"]);
    }

    [Fact]
    public async Task Embedding_PastTheCallDeadline_DeadlineExceeded_AuditedAs504_UpstreamAborted()
    {
        await using var gateway = await TestGateway.StartAsync();
        gateway.OpenAI.DefaultScript = new FakeScript { Fault = FakeFault.Stall };
        var error = await Assert.ThrowsAsync<Grpc.Core.RpcException>(() => gateway.Channel.CreateCallInvoker().AsyncUnaryCall(
            new Grpc.Core.Method<Contracts.EmbeddingRequest, Contracts.EmbeddingResponse>(Grpc.Core.MethodType.Unary, "integration_api.OpenAiService", "Embedding",
                Grpc.Core.Marshallers.Create<Contracts.EmbeddingRequest>(m => Google.Protobuf.MessageExtensions.ToByteArray(m), Contracts.EmbeddingRequest.Parser.ParseFrom),
                Grpc.Core.Marshallers.Create<Contracts.EmbeddingResponse>(m => Google.Protobuf.MessageExtensions.ToByteArray(m), Contracts.EmbeddingResponse.Parser.ParseFrom)),
            null, new Grpc.Core.CallOptions(TestGateway.AuthHeaders(), DateTime.UtcNow.AddMilliseconds(300)), Embedding(gateway, "openai", "slow")).ResponseAsync.DefaultTimeout());

        Assert.Equal(Grpc.Core.StatusCode.DeadlineExceeded, error.StatusCode);
        await gateway.OpenAI.Requests.Single().Aborted.DefaultTimeout();
        await gateway.App.StopAsync();
        Assert.Equal(504, Assert.Single(await gateway.AuditStore.ListAsync(2, 3, 0, 10, CancellationToken.None)).Code);
    }
}
