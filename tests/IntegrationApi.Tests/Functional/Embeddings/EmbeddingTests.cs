using System.Buffers.Binary;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Microsoft.Extensions.Time.Testing;
using IntegrationApi.Testing;
using IntegrationApi.Tests.Infrastructure;
using static IntegrationApi.Tests.Functional.Embeddings.CallTestRequests;

namespace IntegrationApi.Tests.Functional.Embeddings;

/// <summary>Embedding end to end: the gateway on Kestrel, each provider's loopback fake speaking its real format.</summary>
[Collection(AuditStores.Collection)]
public sealed class EmbeddingTests
{
    /// <summary>Inputs one provider call takes for float vectors (the adapters' limits).</summary>
    private static int BatchLimit(string provider) => provider switch { "mistral" => 128, "cohere" => 96, "gemini" => 100, "vertexai" => 250, _ => 512 };

    [Theory, MemberData(nameof(EmbeddingProviders), MemberType = typeof(CallTestRequests))]
    public async Task Embedding_EachProvider_VectorsKeepTheContentKeys(string provider)
    {
        await using var gateway = await TestGateway.StartAsync();
        var response = await gateway.EmbedAsync(provider, Embedding(gateway, provider, [KeyValuePair.Create(7, "hello"), KeyValuePair.Create(2, "hi there, world")]));

        Assert.True(response.Success, response.Error?.ErrorMessage);
        Assert.Equal(200, response.Code);
        Assert.Equal([2, 7], response.Data.Select(d => d.Index));
        // The fake's vector starts with the text's length: each vector sits at its own text's key.
        Assert.Equal(15, response.Data[0].Embedding_[0]);
        Assert.Equal(5, response.Data[1].Embedding_[0]);
        Assert.Empty(response.Data[0].Base64);
        Assert.Equal(response.RequestId.ToString(), response.Metrics.MetricOf("LLM_REQUEST_ID"));
        Assert.Equal("SUCCESS", response.Metrics.MetricOf("STATUS"));
        Assert.NotNull(response.Metrics.MetricOf("TIME_TAKEN"));
        Assert.Equal(provider == "gemini", response.Metrics.MetricOf("INPUT_TOKEN") is null); // the Gemini API reports no usage for embeddings
        var sent = Assert.Single(gateway.Fake(provider).Requests);
        Assert.Equal(provider == "vertexai" ? "ya29.fake-test-key" : "test-key", TestRequests.SentKey(provider, sent)); // Vertex: the token minted for the key

        await gateway.App.StopAsync();
        var record = Assert.Single(await gateway.AuditStore.ListAsync(2, 3, 0, 10, CancellationToken.None));
        Assert.Equal(provider, record.Provider);
        Assert.Equal("embedding", record.Metadata["operation"]);
        Assert.Equal(200, record.Code);
        Assert.Equal(response.RequestId, record.RequestId);
    }

    [Theory]
    [InlineData("openai")] // asked of OpenAI in base64 and passed on
    [InlineData("mistral")] // Mistral answers numbers; the gateway encodes them
    public async Task Embedding_Base64_LittleEndianFloat32(string provider)
    {
        await using var gateway = await TestGateway.StartAsync();
        var response = await gateway.EmbedAsync(provider, Embedding(gateway, provider, "abc").With("model.encoding_format", Value.ForString("base64")));

        Assert.True(response.Success, response.Error?.ErrorMessage);
        var data = Assert.Single(response.Data);
        Assert.Empty(data.Embedding_);
        var bytes = Convert.FromBase64String(data.Base64);
        Assert.Equal(3f, BinaryPrimitives.ReadSingleLittleEndian(bytes));
        Assert.Equal((float)'a', BinaryPrimitives.ReadSingleLittleEndian(bytes.AsSpan(4)));
        var sent = gateway.Fake(provider).Requests.Single().Json!.Value;
        Assert.Equal(provider == "openai", sent.TryGetProperty("encoding_format", out _));
    }

    [Theory, MemberData(nameof(EmbeddingProviders), MemberType = typeof(CallTestRequests))]
    public async Task Embedding_AboveTheBatchLimit_SplitIntoCallsAndMergedInOrder(string provider)
    {
        await using var gateway = await TestGateway.StartAsync();
        var limit = BatchLimit(provider);
        var count = 2 * limit + 3;
        var request = Embedding(gateway, provider, Enumerable.Range(0, count).Select(i => KeyValuePair.Create(1000 + i, new string('x', 1 + i % 50) + i)));
        if (provider != "mistral") request.With("model.dimensions", Value.ForNumber(provider == "cohere" ? 256 : 4));
        var response = await gateway.EmbedAsync(provider, request);

        Assert.True(response.Success, response.Error?.ErrorMessage);
        Assert.Equal(Enumerable.Range(1000, count), response.Data.Select(d => d.Index));
        for (var i = 0; i < count; i++) Assert.Equal((1 + i % 50) + i.ToString().Length, response.Data[i].Embedding_[0]);
        var calls = gateway.Fake(provider).Requests;
        Assert.Equal(3, calls.Count);
        Assert.Equal(count, calls.Sum(c => InputsOf(provider, c).Count));
        Assert.All(calls, c => Assert.True(InputsOf(provider, c).Count <= limit));
        var tokens = calls.Sum(c => InputsOf(provider, c).Sum(t => Math.Max(1, t.Length / 4)));
        Assert.Equal(provider == "gemini" ? null : tokens.ToString(), response.Metrics.MetricOf("INPUT_TOKEN")); // usage added up over the calls
    }

    /// <summary>The texts one provider call carried, read from its own body format.</summary>
    private static IReadOnlyList<string> InputsOf(string provider, RecordedRequest call)
    {
        var json = call.Json!.Value;
        return provider switch
        {
            "cohere" => [.. json.GetProperty("texts").EnumerateArray().Select(t => t.GetString()!)],
            "vertexai" => [.. json.GetProperty("instances").EnumerateArray().Select(i => i.GetProperty("content").GetString()!)],
            "gemini" when json.TryGetProperty("requests", out var r) => [.. r.EnumerateArray().Select(q => q.GetProperty("content").GetProperty("parts")[0].GetProperty("text").GetString()!)],
            "gemini" => [json.GetProperty("content").GetProperty("parts")[0].GetProperty("text").GetString()!],
            _ => [.. json.GetProperty("input").EnumerateArray().Select(t => t.GetString()!)],
        };
    }

    [Fact]
    public async Task Embedding_OneBatchFails_WholeRequestFailsWithItsCode_NoPartialAnswer()
    {
        await using var gateway = await TestGateway.StartAsync();
        gateway.OpenAI.On("poison", FakeScript.Error(400, message: "bad input in this batch"));
        var texts = Enumerable.Range(0, 600).Select(i => i == 550 ? "poison" : "t" + i).ToArray();
        var response = await gateway.EmbedAsync("openai", Embedding(gateway, "openai", texts).With("model.dimensions", Value.ForNumber(4)));

        Assert.False(response.Success);
        Assert.Equal(400, response.Code);
        Assert.Contains("bad input in this batch", response.Error.ErrorMessage);
        Assert.Empty(response.Data);
        Assert.Equal("FAILED", response.Metrics.MetricOf("STATUS"));
    }

    [Theory, MemberData(nameof(EmbeddingProviders), MemberType = typeof(CallTestRequests))]
    public async Task Embedding_ProviderRejectsTheKey_401(string provider)
    {
        await using var gateway = await TestGateway.StartAsync();
        var response = await gateway.EmbedAsync(provider, Embedding(gateway, provider, [KeyValuePair.Create(0, "hello")], key: "wrong-key-123"));

        Assert.False(response.Success);
        Assert.Equal(401, response.Code);
        Assert.Equal(401ul, response.Error.ErrorCode);
        Assert.DoesNotContain("wrong-key-123", response.Error.ErrorMessage);
        // A 401 is not retried (Vertex refuses the service account at the token exchange, before any embedding call).
        Assert.Equal(provider == "vertexai" ? 0 : 1, gateway.Fake(provider).Requests.Count);
    }

    [Theory, MemberData(nameof(EmbeddingProviders), MemberType = typeof(CallTestRequests))]
    public async Task Embedding_RateLimitedOnce_RetriedAndAnswered(string provider)
    {
        await using var gateway = await TestGateway.StartAsync();
        gateway.Fake(provider).Enqueue(FakeScript.Error(429, retryAfter: "0"));
        var response = await gateway.EmbedAsync(provider, Embedding(gateway, provider, "hello"));

        Assert.True(response.Success, response.Error?.ErrorMessage);
        Assert.Equal(2, gateway.Fake(provider).Requests.Count);
    }

    [Fact]
    public async Task Embedding_RateLimitedThroughout_429AfterTheRetries()
    {
        await using var gateway = await TestGateway.StartAsync();
        gateway.OpenAI.DefaultScript = FakeScript.Error(429, retryAfter: "0");
        var response = await gateway.EmbedAsync("openai", Embedding(gateway, "openai", "hello"));

        Assert.Equal(429, response.Code);
        Assert.Equal(3, gateway.OpenAI.Requests.Count); // the first try and Engine:MaxRetries (2)
    }

    [Fact]
    public async Task Embedding_CallerCancels_UpstreamCallAborted_AuditedAs499()
    {
        await using var gateway = await TestGateway.StartAsync();
        var received = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        gateway.OpenAI.DefaultScript = new FakeScript { Fault = FakeFault.Stall };
        gateway.OpenAI.Responder = _ => { received.TrySetResult(); return null; };
        using var cts = new CancellationTokenSource();
        var call = gateway.EmbedAsync("openai", Embedding(gateway, "openai", "hold on"), cancellationToken: cts.Token);
        await received.Task.DefaultTimeout();
        cts.Cancel();

        var error = await Assert.ThrowsAsync<RpcException>(() => call);
        Assert.Equal(StatusCode.Cancelled, error.StatusCode);
        await gateway.OpenAI.Requests.Single().Aborted.DefaultTimeout();
        await gateway.App.StopAsync();
        var record = Assert.Single(await gateway.AuditStore.ListAsync(2, 3, 0, 10, CancellationToken.None));
        Assert.Equal(499, record.Code);
    }

    [Fact]
    public async Task Embedding_CallTimeout_504_UpstreamAborted()
    {
        // On a fake clock: the fake holds its answer, the test moves the service's clock past Engine:CallTimeout.
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var gateway = await TestGateway.StartAsync(new Dictionary<string, string?> { ["Engine:CallTimeout"] = "00:00:05" }, time: clock);
        var received = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        gateway.OpenAI.DefaultScript = new FakeScript { Fault = FakeFault.Stall };
        gateway.OpenAI.Responder = _ => { received.TrySetResult(); return null; };
        var call = gateway.EmbedAsync("openai", Embedding(gateway, "openai", "slow"));
        await received.Task.DefaultTimeout();
        clock.Advance(TimeSpan.FromSeconds(5));
        var response = await call;

        Assert.Equal(504, response.Code);
        Assert.Contains("timed out", response.Error.ErrorMessage);
        await gateway.OpenAI.Requests.Single().Aborted.DefaultTimeout();
    }

    public static TheoryData<string, string, string> BadInputs => new()
    {
        { "no content", "", "content must hold at least one text" },
        { "empty text", "empty", "content[0] is empty" },
        { "bad encoding", "model.encoding_format=int8", "model.encoding_format" },
        { "bad dimensions", "model.dimensions=0", "model.dimensions" },
        { "bad truncate", "model.truncate=MIDDLE", "model.truncate" },
        { "other provider", "providerName=cohere", "does not match this service" },
    };

    [Theory, MemberData(nameof(BadInputs))]
    public async Task Embedding_BadInput_400BeforeAnyUpstreamCall(string _, string change, string message)
    {
        await using var gateway = await TestGateway.StartAsync();
        var request = Embedding(gateway, "openai", "hello");
        switch (change.Split('='))
        {
            case [""]: request.Content.Clear(); break;
            case ["empty"]: request.Content[0] = " "; break;
            case ["providerName", var name]: request.ProviderName = name; break;
            case [var key, var value]: request.With(key, Value.ForString(value)); break;
        }
        var response = await gateway.EmbedAsync("openai", request);

        Assert.Equal(400, response.Code);
        Assert.Contains(message, response.Error.ErrorMessage);
        Assert.Empty(gateway.OpenAI.Requests);
    }

    [Fact]
    public async Task Embedding_DimensionsTheModelRefuses_ProviderAnswers400()
    {
        await using var gateway = await TestGateway.StartAsync();
        var response = await gateway.EmbedAsync("openai", Embedding(gateway, "openai", "hello").With("model.dimensions", Value.ForNumber(5000)));

        Assert.Equal(400, response.Code);
        Assert.Contains("dimensions", response.Error.ErrorMessage);
    }

    [Fact]
    public async Task Embedding_LlmService_ProviderNamePicksTheProvider()
    {
        await using var gateway = await TestGateway.StartAsync();
        var request = Embedding(gateway, "mistral", "hello");
        request.ProviderName = "Mistral";
        var response = await gateway.EmbedAsync(null, request);
        Assert.True(response.Success, response.Error?.ErrorMessage);
        Assert.Single(gateway.Fake("mistral").Requests);

        request.ProviderName = "";
        Assert.Contains("providerName is required", (await gateway.EmbedAsync(null, request)).Error.ErrorMessage);
        request.ProviderName = "anthropic";
        var none = await gateway.EmbedAsync(null, request);
        Assert.Equal(400, none.Code);
        Assert.Contains("has no Embedding", none.Error.ErrorMessage);
    }

    [Fact]
    public async Task Embedding_UnauthenticatedCaller_Refused()
    {
        await using var gateway = await TestGateway.StartAsync();
        var error = await Assert.ThrowsAsync<RpcException>(() => gateway.EmbedAsync("openai", Embedding(gateway, "openai", "hello"), new Metadata()));
        Assert.Equal(StatusCode.Unauthenticated, error.StatusCode);
        var llm = await Assert.ThrowsAsync<RpcException>(() => gateway.EmbedAsync(null, Embedding(gateway, "openai", "hello"), new Metadata()));
        Assert.Equal(StatusCode.Unauthenticated, llm.StatusCode);
        Assert.Empty(gateway.OpenAI.Requests);
    }
}
