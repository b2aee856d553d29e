using System.Net;
using System.Net.Sockets;
using Grpc.Core;
using Grpc.Net.Client;
using IntegrationApi.Client;
using IntegrationApi.Testing;
using IntegrationApi.Tests.Infrastructure;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;

namespace IntegrationApi.Tests.Client;

/// <summary>The client's surface from issue 18: abandoning an enumeration cancels, addresses, CallInvoker/CallCredentials, DI, AsIChatClient.</summary>
public sealed class ClientSurfaceTests
{
    private static readonly Dictionary<string, string> OpenAIKey = new() { ["key"] = "test-key" };

    [Fact]
    public async Task BreakingOutOfIChatClientStreaming_SendsCancel_UpstreamAborted()
    {
        await using var gateway = await TestGateway.StartAsync();
        gateway.OpenAI.On("victim", new FakeScript { TextChunks = ["v1", "v2"], Fault = FakeFault.Stall, FaultAfterChunks = 1 });
        await using var client = new IntegrationClient(gateway.Channel, new IntegrationClientOptions { Headers = () => TestGateway.AuthHeaders() });
        var chat = client.AsIChatClient("openai", OpenAIKey, "gpt-4o-mini");

        await foreach (var update in chat.GetStreamingResponseAsync("victim").WithCancellation(default))
        {
            Assert.Equal("v1", update.Text);
            break; // no token cancelled: only the abandoned enumeration
        }

        await Assert.Single(gateway.OpenAI.Requests).Aborted.DefaultTimeout(); // the provider stopped generating
        Assert.NotEmpty((await chat.GetResponseAsync("other").DefaultTimeout()).Text); // the stream goes on
    }

    [Fact]
    public async Task BreakingOutOfStreamAsync_SendsCancel_UpstreamAborted()
    {
        await using var gateway = await TestGateway.StartAsync();
        gateway.OpenAI.On("victim", new FakeScript { TextChunks = ["v1", "v2"], Fault = FakeFault.Stall, FaultAfterChunks = 1 });
        await using var client = new IntegrationClient(gateway.Channel, new IntegrationClientOptions { Headers = () => TestGateway.AuthHeaders() });
        var request = gateway.NewChat("openai", "victim");
        request.ProviderName = "openai";

        await foreach (var _ in client.StreamAsync(request)) break;

        await Assert.Single(gateway.OpenAI.Requests).Aborted.DefaultTimeout();
    }

    [Theory]
    [InlineData("localhost:9004")]
    [InlineData("127.0.0.1:9004")]
    [InlineData("ftp://127.0.0.1:9004")]
    [InlineData("")]
    public void AddressWithoutHttpScheme_ClearArgumentException(string address)
    {
        var ex = Assert.ThrowsAny<ArgumentException>(() => IntegrationClient.CreateChannel(address));
        Assert.Contains(address.Length > 0 ? $"\"{address}\"" : "empty", ex.Message);
        Assert.ThrowsAny<ArgumentException>(() => new IntegrationClient(address));
    }

    [Fact]
    public async Task CallInvokerWithAsyncCallCredentials_Authenticates_StreamsAndUnary()
    {
        await using var gateway = await TestGateway.StartAsync();
        using var channel = GrpcChannel.ForAddress("http://" + gateway.Channel.Target, new GrpcChannelOptions { UnsafeUseInsecureChannelCallCredentials = true });
        var asked = 0;
        var credentials = CallCredentials.FromInterceptor(async (_, metadata) =>
        {
            await Task.Yield(); // a token provider
            Interlocked.Increment(ref asked);
            metadata.Add("x-api-key", TestGateway.ApiKey);
        });
        await using var client = new IntegrationClient(channel.CreateCallInvoker(), new IntegrationClientOptions { CallCredentials = credentials });
        var request = gateway.NewChat("openai", "hi");
        request.ProviderName = "openai";

        var answer = await client.ChatAsync(request).DefaultTimeout();
        Assert.True(answer.Success, answer.ToString());
        var verified = await client.VerifyCredentialAsync("openai", request.Credential).DefaultTimeout();
        Assert.True(verified.Success, verified.ToString());
        Assert.True(asked >= 2);
    }

    [Fact]
    public async Task RefusedCaller_IsNotResent_AndSaysSo()
    {
        await using var gateway = await TestGateway.StartAsync();
        await using var client = new IntegrationClient(gateway.Channel, new IntegrationClientOptions
        {
            Headers = () => new Metadata { { "x-api-key", "rpd-prj-not-a-key" } },
        });
        var request = gateway.NewChat("openai", "hi");
        request.ProviderName = "openai";

        var ex = await Assert.ThrowsAsync<IntegrationStreamException>(() => client.ChatAsync(request).DefaultTimeout());
        Assert.Equal(StatusCode.Unauthenticated, ex.Status.StatusCode);
        Assert.Contains("refused the caller", ex.Message);
        Assert.Equal(0, client.Resent);
        Assert.Equal(1, client.StreamsOpened);
    }

    [Fact]
    public async Task ServiceDown_NamesTheAddress()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        await using var client = new IntegrationClient($"http://127.0.0.1:{port}");
        var request = TestRequests.NewChat("openai", "hi", "", "k");

        var ex = await Assert.ThrowsAsync<IntegrationStreamException>(() => client.ChatAsync(request).DefaultTimeout());
        Assert.Contains($"could not reach the service at 127.0.0.1:{port}", ex.Message);
        Assert.DoesNotContain("the stream has ended", ex.Message);           // the call's own status says why (refused)
        Console.WriteLine(ex.Message);
    }

    [Fact]
    public async Task AddIntegrationClient_RegistersTheClientAndAnIChatClient()
    {
        await using var gateway = await TestGateway.StartAsync();
        gateway.OpenAI.DefaultScript = new FakeScript { TextChunks = ["from ", "DI"] };
        var services = new ServiceCollection();
        services.AddIntegrationClient(o =>
        {
            o.Address = "http://" + gateway.Channel.Target;
            o.Client.Headers = () => TestGateway.AuthHeaders();
            o.ChatProvider = "openai";
            o.ChatCredential["key"] = "test-key";
            o.ChatModel = "gpt-4o-mini";
        });
        await using var provider = services.BuildServiceProvider();

        var chat = provider.GetRequiredService<IChatClient>();
        var reply = await chat.GetResponseAsync("hi").DefaultTimeout();
        Assert.Equal("from DI", reply.Text);
        Assert.Same(provider.GetRequiredService<IntegrationClient>(), provider.GetRequiredService<IntegrationClient>());
        Assert.Equal("gpt-4o-mini", gateway.OpenAI.Requests[0].Json!.Value.GetProperty("model").GetString());
    }

    [Fact]
    public async Task AddIntegrationClient_ContainerDisposedSynchronously_DisposesTheClient()
    {
        await using var gateway = await TestGateway.StartAsync();
        var services = new ServiceCollection();
        services.AddIntegrationClient(o =>
        {
            o.Address = "http://" + gateway.Channel.Target;
            o.Client.Headers = () => TestGateway.AuthHeaders();
        });
        var provider = services.BuildServiceProvider();
        var client = provider.GetRequiredService<IntegrationClient>();
        var hi = gateway.NewChat("openai", "hi");
        hi.ProviderName = "openai";                                      // the client speaks LlmService
        var answer = await client.ChatAsync(hi).DefaultTimeout();
        Assert.True(answer.Code == 200, answer.Error?.ErrorMessage);

        provider.Dispose();                                              // threw: the client was only IAsyncDisposable
        var after = gateway.NewChat("openai", "after");
        after.ProviderName = "openai";
        await Assert.ThrowsAnyAsync<Exception>(() => client.ChatAsync(after).DefaultTimeout()); // its channel is gone
    }
}
