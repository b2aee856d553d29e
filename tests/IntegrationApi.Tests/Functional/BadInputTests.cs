using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using IntegrationApi.Testing;
using IntegrationApi.Tests.Infrastructure;
using static IntegrationApi.Tests.Infrastructure.TestRequests;
using Proto = IntegrationApi.Contracts;

namespace IntegrationApi.Tests.Functional;

/// <summary>
/// Contract §3.3 and §3.6: whatever a caller puts in a request, it is a 400 terminal naming the problem; the stream
/// goes on (tagged and untagged), the unary call answers, and the request leaves its audit record.
/// </summary>
[Collection(AuditStores.Collection)]
public sealed class BadInputTests
{
    private static Value Nested(int depth) => depth == 0 ? Value.ForString("leaf") : Value.ForStruct(new Struct { Fields = { ["a"] = Nested(depth - 1) } });

    private static Proto.FunctionParameter NestedSchema(int depth) => depth == 0
        ? new Proto.FunctionParameter { Type = "object" }
        : new Proto.FunctionParameter { Type = "object", Properties = { ["list"] = new Proto.FunctionParameterProperty { Type = "array", Items = NestedSchema(depth - 1) } } };

    /// <summary>Each bad request and a word the 400 must name.</summary>
    public static IEnumerable<(string Why, Action<Proto.ChatRequest> Spoil, string Names)> Spoilers()
    {
        yield return ("Value with no kind", r => r.ModelParameters["model.temperature"] = Any.Pack(new Value()), "model.temperature");
        yield return ("Value with no kind, nested", r => r.ModelParameters["model.response_format"] = Any.Pack(Value.ForStruct(new Struct { Fields = { ["type"] = new Value() } })), "response_format");
        yield return ("Value with no kind in the credential", r => r.Credential.Value.Fields["extra"] = new Value(), "credential.value.extra");
        yield return ("NaN", r => r.ModelParameters["model.temperature"] = Param(Value.ForNumber(double.NaN)), "finite");
        yield return ("Infinity nested", r => r.ModelParameters["model.response_format"] = Param(Value.ForStruct(new Struct { Fields = { ["x"] = Value.ForNumber(double.PositiveInfinity) } })), "finite");
        yield return ("NaN as text", r => r.ModelParameters["model.top_p"] = Param(Value.ForString("NaN")), "model.top_p");
        yield return ("NaN wrapper", r => r.ModelParameters["model.temperature"] = Any.Pack(new DoubleValue { Value = double.NegativeInfinity }), "finite");
        yield return ("huge whole number", r => r.ModelParameters["model.max_completion_tokens"] = Param(Value.ForNumber(1e300)), "whole number");
        yield return ("model.name a struct", r => r.ModelParameters["model.name"] = Param(Value.ForStruct(new Struct { Fields = { ["n"] = Value.ForString("gpt") } })), "model.name");
        yield return ("model.name a list", r => r.ModelParameters["model.name"] = Param(Value.ForList(Value.ForString("gpt"))), "model.name");
        yield return ("model.name with a newline", r => r.ModelParameters["model.name"] = Param(Value.ForString("gpt-4o\n")), "model.name");
        yield return ("model.name too long", r => r.ModelParameters["model.name"] = Param(Value.ForString(new string('m', 300))), "model.name");
        yield return ("struct nested 25 levels", r => r.ModelParameters["model.metadata"] = Param(Nested(25)), "nested");
        yield return ("struct nested past protobuf's recursion limit", r => r.ModelParameters["model.metadata"] = Param(Nested(100)), "decode");
        yield return ("tool schema nested 25 levels", r => r.ToolDefinitions.Add(new Proto.ToolDefinition { Type = "function", FunctionDefinition = new() { Name = "deep", Parameters = NestedSchema(25) } }), "nested");
        yield return ("tool-call arguments not an object", r =>
        {
            r.Conversations.Add(new IntegrationApi.Contracts.Common.Message { Role = "assistant", ToolCalls = { new IntegrationApi.Contracts.Common.ToolCall { Id = "c1", Type = "function", Function = new() { Name = "f", Arguments = "[1,2]" } } } });
            r.Conversations.Add(new IntegrationApi.Contracts.Common.Message { Role = "tool", Contents = { new IntegrationApi.Contracts.Common.Content { ContentType = "c1", Content_ = ByteString.CopyFromUtf8("ok") } } });
            r.Conversations.Add(Message("user", "and?"));
        }, "arguments");
        yield return ("Any of garbage bytes", r => r.ModelParameters["model.temperature"] = new Any { TypeUrl = "type.googleapis.com/google.protobuf.Value", Value = ByteString.CopyFrom(0xFF, 0xFF, 0xFF) }, "model.temperature");
        yield return ("Any of an unknown type", r => r.ModelParameters["model.temperature"] = new Any { TypeUrl = "type.googleapis.com/acme.Secret\n", Value = ByteString.Empty }, "model.temperature");
        yield return ("unknown action", r => r.Action = (Proto.ChatAction)7, "action");
        yield return ("additionalData too many", r => { for (var i = 0; i < 65; i++) r.AdditionalData[$"k{i}"] = "v"; }, "additionalData");
        yield return ("additionalData value too long", r => r.AdditionalData["note"] = new string('n', 5000), "additionalData");
        yield return ("providerName with control characters", r => r.ProviderName = "open\nai", "providerName");
    }

    public static IEnumerable<object[]> Providers() => new[] { "openai", "anthropic", "gemini", "cohere" }.Select(p => new object[] { p });

    [Theory, MemberData(nameof(Providers))]
    public async Task BadRequests_OnOneStream_Each400_TaggedAndUntagged_StreamGoesOn(string provider)
    {
        await using var gateway = await TestGateway.StartAsync(new Dictionary<string, string?> { ["Audit:IncludePayloads"] = "true" });
        using var stream = gateway.OpenStream(provider);
        var spoilers = Spoilers().ToList();
        for (var i = 0; i < spoilers.Count; i++)
        {
            var (why, spoil, names) = spoilers[i];
            var tagged = gateway.NewChat(provider, "x", clientRequestId: $"bad-{i}");
            spoil(tagged);
            var untagged = gateway.NewChat(provider, "y");
            spoil(untagged);
            await stream.SendAsync(tagged);
            await stream.SendAsync(untagged);
            foreach (var id in new[] { $"bad-{i}", "" })
            {
                var terminal = await stream.ReadUntilAsync(r => ChatStream.IsTerminal(r) && r.ClientRequestId == id);
                Assert.True(terminal.Code == 400, $"{why} ({(id.Length == 0 ? "untagged" : "tagged")}): {terminal.Describe()}");
                Assert.Contains(names, terminal.Error.ErrorMessage, StringComparison.OrdinalIgnoreCase);
            }
        }
        // Still usable, in both lanes.
        await stream.SendAsync(gateway.NewChat(provider, "fine", clientRequestId: "good"));
        Assert.True((await stream.ReadUntilAsync(r => ChatStream.IsTerminal(r) && r.ClientRequestId == "good")).Success);
        await stream.SendAsync(gateway.NewChat(provider, "fine too"));
        Assert.True((await stream.ReadUntilAsync(r => ChatStream.IsTerminal(r) && r.ClientRequestId == "")).Success);
        await stream.CompleteAsync();
        Assert.Equal(StatusCode.OK, (await stream.ReadToEndAsync()).StatusCode);
        Assert.Equal(2, gateway.Fake(provider).Requests.Count);

        await gateway.App.StopAsync();
        Assert.Equal(2 * spoilers.Count + 2, await gateway.AuditStore.CountAsync(2, 3, CancellationToken.None));
    }

    [Fact]
    public async Task ClientRequestIdTooLong_400_StreamGoesOn()
    {
        await using var gateway = await TestGateway.StartAsync();
        using var stream = gateway.OpenStream("openai");
        var id = new string('i', 300);
        await stream.SendAsync(gateway.NewChat("openai", "x", clientRequestId: id));
        var terminal = await stream.ReadUntilAsync(ChatStream.IsTerminal);
        Assert.Equal(400, terminal.Code);
        Assert.Contains("clientRequestId", terminal.Error.ErrorMessage);
        await stream.SendAsync(gateway.NewChat("openai", "fine", clientRequestId: "ok"));
        Assert.True((await stream.ReadUntilAsync(ChatStream.IsTerminal)).Success);
        Assert.Single(gateway.OpenAI.Requests);
    }

    [Fact]
    public async Task BadRequests_Unary_Each400Body_AndAuditRecord()
    {
        await using var gateway = await TestGateway.StartAsync(new Dictionary<string, string?> { ["Audit:IncludePayloads"] = "true" });
        var spoilers = Spoilers().ToList();
        foreach (var (why, spoil, names) in spoilers)
        {
            var request = gateway.NewChat("openai", "x");
            spoil(request);
            var response = await gateway.ChatAsync("openai", request).DefaultTimeout();
            Assert.True(response.Code == 400, $"{why}: {response.Describe()}");
            Assert.Contains(names, response.Error.ErrorMessage, StringComparison.OrdinalIgnoreCase);
        }
        Assert.Empty(gateway.OpenAI.Requests);
        await gateway.App.StopAsync();
        Assert.Equal(spoilers.Count, await gateway.AuditStore.CountAsync(2, 3, CancellationToken.None));
    }

    public static IEnumerable<object[]> Undecodable()
    {
        yield return ["not protobuf", new byte[] { 0xFF, 0xFF, 0xFF, 0xFF }];
        // clientRequestId (field 8, a proto3 string) holding bytes that are not UTF-8.
        yield return ["invalid UTF-8 in a string field", new byte[] { 0x42, 0x02, 0xC3, 0x28 }];
        // conversations (field 2) whose length runs past the end of the message.
        yield return ["truncated nested message", new byte[] { 0x12, 0x7F, 0x0A, 0x04 }];
    }

    [Theory, MemberData(nameof(Undecodable))]
    public async Task UndecodableMessage_RequestsInFlightGetTheirTerminals_ThenInvalidArgument(string why, byte[] junk)
    {
        await using var gateway = await TestGateway.StartAsync();
        var release = new TaskCompletionSource();
        gateway.OpenAI.On("gated", new FakeScript { TextChunks = ["g1", "g2"], FaultGate = release.Task, FaultAfterChunks = 1 });
        var bytes = Grpc.Core.Marshallers.Create<byte[]>(b => b, b => b);
        var method = new Method<byte[], byte[]>(MethodType.DuplexStreaming, "integration_api.OpenAiService", "StreamChat", bytes, bytes);
        using var call = gateway.Channel.CreateCallInvoker().AsyncDuplexStreamingCall(method, null, new CallOptions(TestGateway.AuthHeaders()));
        await call.RequestStream.WriteAsync(gateway.NewChat("openai", "gated", "in-flight").ToByteArray());
        Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None).DefaultTimeout()); // its first delta: it is running
        await call.RequestStream.WriteAsync(junk);
        await call.RequestStream.WriteAsync(gateway.NewChat("openai", "after the junk", "never").ToByteArray());
        // Half-close too: a server that ends a call while the client is still sending resets the HTTP/2 stream, and the
        // client may then report that reset (Cancelled) instead of the status the server sent.
        await call.RequestStream.CompleteAsync();
        release.SetResult();

        var responses = new List<Proto.ChatResponse>();
        var error = await Assert.ThrowsAsync<RpcException>(async () =>
        {
            while (await call.ResponseStream.MoveNext(CancellationToken.None).DefaultTimeout())
                responses.Add(Proto.ChatResponse.Parser.ParseFrom(call.ResponseStream.Current));
        });
        Assert.True(error.StatusCode == StatusCode.InvalidArgument, $"{why}: {error.Status}");
        var terminal = Assert.Single(responses, ChatStream.IsTerminal);
        Assert.True(terminal.Success && terminal.ClientRequestId == "in-flight", terminal.Describe());
        Assert.DoesNotContain(responses, r => r.ClientRequestId == "never");
        Assert.Single(gateway.OpenAI.Requests);

        // The service goes on.
        using var next = gateway.OpenStream("openai");
        await next.SendAsync(gateway.NewChat("openai", "fine"));
        Assert.True((await next.ReadUntilAsync(ChatStream.IsTerminal)).Success);
    }

    [Theory]
    [InlineData("anthropic")]
    [InlineData("gemini")]
    public async Task ManySameRoleTurns_MergedIntoOneTurn_InBoundedTime(string provider)
    {
        // 100,000 consecutive user turns cost quadratic time when each merge copied the turn so far (37 s of CPU);
        // merged linearly it is a few milliseconds, far inside the default timeout of the await below.
        await using var gateway = await TestGateway.StartAsync();
        const int turns = 100_000;
        var request = gateway.NewChat(provider, "0");
        for (var i = 1; i < turns; i++) request.Conversations.Add(Message("user", "x"));
        var response = await gateway.ChatAsync(provider, request).DefaultTimeout();
        Assert.True(response.Success, response.Describe());
        var body = System.Text.Json.JsonDocument.Parse(gateway.Fake(provider).Requests.Single().Body).RootElement;
        var sent = provider == "anthropic" ? body.GetProperty("messages") : body.GetProperty("contents");
        Assert.Equal(1, sent.GetArrayLength());
        Assert.Equal(turns, sent[0].GetProperty(provider == "anthropic" ? "content" : "parts").GetArrayLength());
    }
}
