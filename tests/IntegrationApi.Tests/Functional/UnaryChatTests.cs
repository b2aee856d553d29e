using IntegrationApi.Testing;
using IntegrationApi.Tests.Infrastructure;
using static IntegrationApi.Tests.Infrastructure.TestRequests;

namespace IntegrationApi.Tests.Functional;

/// <summary>Unary Chat runs the same engine and answers with the terminal response's body.</summary>
[Collection(AuditStores.Collection)]
public sealed class UnaryChatTests
{
    [Theory]
    [InlineData("cancel")]
    [InlineData("deadline")]
    public async Task Chat_CancelledOrPastItsDeadline_StillLeavesItsAuditRecord(string how)
    {
        await using var gateway = await TestGateway.StartAsync();
        var received = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        gateway.OpenAI.DefaultScript = new FakeScript { TextChunks = ["x", "y"], Fault = FakeFault.Stall, FaultAfterChunks = 1 };
        gateway.OpenAI.Responder = _ => { received.TrySetResult(); return null; };
        using var cts = new CancellationTokenSource();
        var call = gateway.OpenAIClient.ChatAsync(gateway.NewChat("openai", "hold on", "u-1"), TestGateway.AuthHeaders(),
            deadline: how == "deadline" ? DateTime.UtcNow.AddMilliseconds(500) : null, cancellationToken: cts.Token);
        await received.Task.DefaultTimeout();
        if (how == "cancel") cts.Cancel();

        var error = await Assert.ThrowsAsync<Grpc.Core.RpcException>(() => call.ResponseAsync.DefaultTimeout());
        Assert.Equal(how == "cancel" ? Grpc.Core.StatusCode.Cancelled : Grpc.Core.StatusCode.DeadlineExceeded, error.StatusCode);
        await gateway.OpenAI.Requests.Single().Aborted.DefaultTimeout(); // the upstream call went with it

        await gateway.App.StopAsync();
        var record = Assert.Single(await gateway.AuditStore.ListAsync(2, 3, 0, 10, CancellationToken.None));
        Assert.Equal(how == "cancel" ? 499 : 504, record.Code);
        Assert.Equal("FAILED", record.Status);
        Assert.Equal("openai", record.Provider);
    }

    public static IEnumerable<object[]> AllProviders => ProviderCases;

    [Theory, MemberData(nameof(AllProviders))]
    public async Task Chat_Success_CompleteMessageMetricsAndFinishReason(string provider)
    {
        await using var gateway = await TestGateway.StartAsync();
        gateway.Fake(provider).DefaultScript = new FakeScript { TextChunks = ["It is", " sunny."], InputTokens = 20, OutputTokens = 4, FinishReason = "length" };
        var request = gateway.NewChat(provider, "weather?", "u1");

        var response = await gateway.ChatAsync(provider, request);

        Assert.True(response.Success, response.Describe());
        Assert.Equal(200, response.Code);
        Assert.Equal("u1", response.ClientRequestId);
        Assert.NotEqual(0UL, response.RequestId);
        Assert.Equal("assistant", response.Data.Role);
        Assert.Equal("It is sunny.", response.Text());
        Assert.Equal(provider == "replicate" ? "stop" : "length", response.FinishReason); // Replicate reports no finish reason
        Assert.Equal("20", response.Metric("INPUT_TOKEN"));
        Assert.Equal("4", response.Metric("OUTPUT_TOKEN"));
        Assert.Equal("24", response.Metric("TOTAL_TOKEN"));
        Assert.Equal(response.RequestId.ToString(), response.Metric("LLM_REQUEST_ID"));
        Assert.Equal("SUCCESS", response.Metric("STATUS"));
    }

    [Theory, MemberData(nameof(AllProviders))]
    public async Task Chat_ProviderFailure_OkCallWithErrorBody(string provider)
    {
        await using var gateway = await TestGateway.StartAsync();
        var response = await gateway.ChatAsync(provider, gateway.NewChat(provider, "hi", key: "bad"));
        Assert.False(response.Success);
        Assert.Equal(401, response.Code);
        Assert.Equal("error", response.FinishReason);
        Assert.Equal(401UL, response.Error.ErrorCode);
        Assert.NotEmpty(response.Error.HumanMessage);
        Assert.Equal("FAILED", response.Metric("STATUS"));
    }

    [Theory, MemberData(nameof(AllProviders))]
    public async Task Chat_InvalidRequest_OkCallWith400Body(string provider)
    {
        await using var gateway = await TestGateway.StartAsync();
        var request = gateway.NewChat(provider, "hi");
        request.Conversations.Clear();
        var response = await gateway.ChatAsync(provider, request);
        Assert.Equal(400, response.Code);
        Assert.Contains("conversations", response.Error.ErrorMessage);
        Assert.Empty(gateway.Fake(provider).Requests);
    }
}
