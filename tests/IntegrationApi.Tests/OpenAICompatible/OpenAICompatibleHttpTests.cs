using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using IntegrationApi.Testing;
using IntegrationApi.Tests.Infrastructure;
using static IntegrationApi.Tests.OpenAICompatible.OpenAICompatibleClient;

namespace IntegrationApi.Tests.OpenAICompatible;

/// <summary>The OpenAI-compatible surface on the wire: authentication, refusals, SSE framing, disconnects, the listener, audit.</summary>
public sealed class OpenAICompatibleHttpTests
{
    private const string Chat = """{"model":"openai/gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}""";

    private static HttpRequestMessage Post(string body, string? providerKey = "test-key", string path = "/v1/chat/completions")
    {
        var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        if (providerKey is not null) request.Headers.Add("x-provider-key", providerKey);
        return request;
    }

    /// <summary>The status and OpenAI error body of a refused call.</summary>
    private static async Task<(HttpStatusCode Status, string Message, string Type, string Code)> ErrorOf(HttpResponseMessage response)
    {
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var error = json.RootElement.GetProperty("error");
        return (response.StatusCode, error.GetProperty("message").GetString()!, error.GetProperty("type").GetString()!, error.GetProperty("code").GetString()!);
    }

    [Fact]
    public async Task ChatCompletions_WithoutOrWithAWrongBearer_Are401WithOpenAIErrorBody()
    {
        await using var gateway = await TestGateway.StartAsync();
        using var anonymous = Raw(gateway, callerKey: "");
        using var wrong = Raw(gateway, callerKey: "rpd-prj-not-a-key");

        var missing = await ErrorOf(await anonymous.SendAsync(Post(Chat)).DefaultTimeout());
        var refused = await ErrorOf(await wrong.SendAsync(Post(Chat)).DefaultTimeout());

        Assert.Equal((HttpStatusCode.Unauthorized, "authentication_error", "invalid_api_key"), (missing.Status, missing.Type, missing.Code));
        Assert.Contains("Bearer", missing.Message, StringComparison.Ordinal);
        Assert.Equal((HttpStatusCode.Unauthorized, "authentication_error"), (refused.Status, refused.Type));
        Assert.Empty(gateway.OpenAI.Requests);
    }

    [Fact]
    public async Task ChatCompletions_WithAServiceJwtAsBearer_IsServed()
    {
        await using var gateway = await TestGateway.StartAsync();
        using var http = Raw(gateway, callerKey: TestTokens.Jwt(TestGateway.JwtSecret, 1, 2, 3, DateTimeOffset.UtcNow.AddHours(1)));

        using var response = await http.SendAsync(Post(Chat)).DefaultTimeout();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Theory]
    [InlineData("""{"model":"nope/gpt-4o","messages":[{"role":"user","content":"hi"}]}""", "provider one of")]
    [InlineData("""{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}""", "<provider>/<model>")]
    [InlineData("""{"messages":[{"role":"user","content":"hi"}]}""", "<provider>/<model>")]
    [InlineData("""{"model":"openai/gpt-4o-mini","messages":[]}""", "messages")]
    [InlineData("""{"model":"openai/gpt-4o-mini","messages":[{"role":"wizard","content":"hi"}]}""", "role")]
    [InlineData("""{"model":"openai/gpt-4o-mini","messages":[{"role":"user","content":[{"type":"audio"}]}]}""", "content[0]")]
    [InlineData("""{"model":"openai/gpt-4o-mini","n":2,"messages":[{"role":"user","content":"hi"}]}""", "n greater than 1")]
    [InlineData("""{"model":"openai/gpt-4o-mini","fallbacks":["anthropic/claude-sonnet-4-5"],"messages":[{"role":"user","content":"hi"}]}""", "x-provider-key-anthropic")]
    public async Task ChatCompletions_InvalidRequest_Is400NamingTheProblem_AndNeverReachesTheProvider(string body, string named)
    {
        await using var gateway = await TestGateway.StartAsync();
        using var http = Raw(gateway);

        var error = await ErrorOf(await http.SendAsync(Post(body)).DefaultTimeout());

        Assert.Equal((HttpStatusCode.BadRequest, "invalid_request_error"), (error.Status, error.Type));
        Assert.Contains(named, error.Message, StringComparison.Ordinal);
        Assert.Empty(gateway.OpenAI.Requests);
    }

    [Fact]
    public async Task ChatCompletions_WithoutAProviderCredential_Is400NamingTheHeaders()
    {
        await using var gateway = await TestGateway.StartAsync();
        using var http = Raw(gateway);

        var error = await ErrorOf(await http.SendAsync(Post(Chat, providerKey: null)).DefaultTimeout());

        Assert.Equal(HttpStatusCode.BadRequest, error.Status);
        Assert.Contains("x-provider-key", error.Message, StringComparison.Ordinal);
        Assert.Contains("x-provider-credential", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("{\"model\": \"openai/gpt-4o-mini\", \"messages\": [")]
    [InlineData("not json at all")]
    [InlineData("")]
    [InlineData("null")]
    [InlineData("[1,2]")]
    [InlineData("""{"model":"openai/gpt-4o-mini","temperature":"hot","messages":[{"role":"user","content":"hi"}]}""")]
    [InlineData("""{"model":"openai/gpt-4o-mini","max_tokens":1.5,"messages":[{"role":"user","content":"hi"}]}""")]
    [InlineData("""{"model":"openai/gpt-4o-mini","messages":[null]}""")]
    [InlineData("""{"model":"openai/gpt-4o-mini","messages":[{"role":"user","content":"hi"}],"tools":[null]}""")]
    [InlineData("""{"model":"openai/gpt-4o-mini","messages":[{"role":"assistant","tool_calls":[null]},{"role":"user","content":"hi"}]}""")]
    [InlineData("""{"model":"openai/gpt-4o-mini","messages":[{"role":"user","content":"hi"}],"metadata":{"a":1e999}}""")]
    [InlineData("""{"model":"openai/gpt-4o-mini","messages":[{"role":"user","content":"hi"}],"stop":[1e999]}""")]
    public async Task ChatCompletions_BodyThatIsNotARequest_Is400_Never500(string body)
    {
        await using var gateway = await TestGateway.StartAsync();
        using var http = Raw(gateway);

        var error = await ErrorOf(await http.SendAsync(Post(body)).DefaultTimeout());

        Assert.Equal((HttpStatusCode.BadRequest, "invalid_request_error"), (error.Status, error.Type));
    }

    [Fact]
    public async Task ChatCompletions_BodyOverTheCap_Is413()
    {
        await using var gateway = await TestGateway.StartAsync(new Dictionary<string, string?> { ["OpenAICompatible:MaxRequestBodyBytes"] = "4096" });
        using var http = Raw(gateway);
        var big = $$"""{"model":"openai/gpt-4o-mini","messages":[{"role":"user","content":"{{new string('x', 8192)}}"}]}""";

        var error = await ErrorOf(await http.SendAsync(Post(big)).DefaultTimeout());

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, error.Status);
        Assert.Empty(gateway.OpenAI.Requests);
    }

    [Fact]
    public async Task ChatCompletions_Streamed_IsSseEndingInDone_WithUsageOnlyWhenAsked()
    {
        await using var gateway = await TestGateway.StartAsync();
        gateway.OpenAI.DefaultScript = new FakeScript { TextChunks = ["a", "b"], InputTokens = 3, OutputTokens = 2 };
        using var http = Raw(gateway);

        using var plain = await http.SendAsync(Post("""{"model":"openai/gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"hi"}]}""")).DefaultTimeout();
        using var withUsage = await http.SendAsync(Post("""{"model":"openai/gpt-4o-mini","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"hi"}]}""")).DefaultTimeout();
        var plainEvents = Events(await plain.Content.ReadAsStringAsync());
        var usageEvents = Events(await withUsage.Content.ReadAsStringAsync());

        Assert.Equal("text/event-stream", plain.Content.Headers.ContentType!.MediaType);
        Assert.Equal("[DONE]", plainEvents[^1]);
        Assert.Equal("[DONE]", usageEvents[^1]);
        Assert.DoesNotContain(plainEvents, e => e.Contains("\"usage\"", StringComparison.Ordinal));
        var chunks = plainEvents[..^1].Select(e => JsonDocument.Parse(e).RootElement).ToArray();
        Assert.All(chunks, c => Assert.Equal("chat.completion.chunk", c.GetProperty("object").GetString()));
        Assert.Equal("assistant", chunks[0].GetProperty("choices")[0].GetProperty("delta").GetProperty("role").GetString());
        Assert.Equal("ab", string.Concat(chunks.Select(c => c.GetProperty("choices")[0].GetProperty("delta").TryGetProperty("content", out var t) ? t.GetString() : "")));
        Assert.Equal("stop", chunks[^1].GetProperty("choices")[0].GetProperty("finish_reason").GetString());
        var usage = JsonDocument.Parse(usageEvents[^2]).RootElement;
        Assert.Equal(0, usage.GetProperty("choices").GetArrayLength());
        Assert.Equal(5, usage.GetProperty("usage").GetProperty("total_tokens").GetInt32());
        Assert.Equal(plain.Headers.GetValues("x-request-id").Single(), chunks[0].GetProperty("id").GetString()!["chatcmpl-".Length..]);
    }

    [Fact]
    public async Task ChatCompletions_ProviderFailsMidStream_EndsWithAnErrorEventAndNoDone()
    {
        await using var gateway = await TestGateway.StartAsync();
        // The cut waits until the first delta reached the client: after it, the failure can only be an event.
        var deltaSeen = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        gateway.OpenAI.DefaultScript = new FakeScript { TextChunks = ["a", "b", "c"], Fault = FakeFault.Cut, FaultAfterChunks = 1, FaultGate = deltaSeen.Task };
        using var http = Raw(gateway);
        using var cts = new CancellationTokenSource(TaskTimeoutExtensions.Limit);

        using var response = await http.SendAsync(Post("""{"model":"openai/gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"hi"}]}"""),
            HttpCompletionOption.ResponseHeadersRead, cts.Token).DefaultTimeout();
        var body = new StringBuilder();
        using (var reader = new StreamReader(await response.Content.ReadAsStreamAsync(cts.Token)))
            while (await reader.ReadLineAsync(cts.Token) is { } line)
            {
                body.Append(line).Append('\n');
                if (line.Contains("\"content\":\"a\"", StringComparison.Ordinal)) deltaSeen.TrySetResult();
            }
        var events = Events(body.ToString());

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.DoesNotContain("[DONE]", events);
        var error = JsonDocument.Parse(events[^1]).RootElement.GetProperty("error");
        Assert.Equal("api_error", error.GetProperty("type").GetString());
        Assert.Equal("bad_gateway", error.GetProperty("code").GetString());
    }

    [Fact]
    public async Task ChatCompletions_ClientDisconnects_AbortsTheUpstreamCall()
    {
        await using var gateway = await TestGateway.StartAsync();
        gateway.OpenAI.DefaultScript = new FakeScript { TextChunks = ["first", "never"], Fault = FakeFault.Stall, FaultAfterChunks = 1 };
        using var http = Raw(gateway);
        using var cts = new CancellationTokenSource(TaskTimeoutExtensions.Limit);

        using (var response = await http.SendAsync(Post("""{"model":"openai/gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"hi"}]}"""),
                   HttpCompletionOption.ResponseHeadersRead, cts.Token).DefaultTimeout())
        {
            using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(cts.Token));
            while (await reader.ReadLineAsync(cts.Token) is { } line && !line.Contains("first", StringComparison.Ordinal)) { }
        } // disposing the response mid-stream closes the connection

        await gateway.OpenAI.Requests.Single().Aborted.DefaultTimeout();
        await gateway.App.StopAsync();
        var record = Assert.Single(await gateway.AuditStore.ListAsync(7, 8, 0, 10, CancellationToken.None));
        Assert.Equal(499, record.Code);
        Assert.Equal("openai-http", record.Metadata["surface"]);
    }

    [Fact]
    public async Task ChatCompletions_LeavesTheAuditRecordAUnaryCallLeaves_WithTheSurface()
    {
        await using var gateway = await TestGateway.StartAsync();
        gateway.OpenAI.DefaultScript = new FakeScript { TextChunks = ["ok"], InputTokens = 8, OutputTokens = 1 };
        using var http = Raw(gateway);
        var request = Post(Chat);
        request.Headers.Add("x-client-source", "sdk");

        using var response = await http.SendAsync(request).DefaultTimeout();
        await gateway.App.StopAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var record = Assert.Single(await gateway.AuditStore.ListAsync(7, 8, 0, 10, CancellationToken.None));
        Assert.Equal(ulong.Parse(response.Headers.GetValues("x-request-id").Single()), record.RequestId);
        Assert.Equal(("openai", "gpt-4o-mini", 200, "stop"), (record.Provider, record.Model, record.Code, record.FinishReason));
        Assert.Equal((8L, 1L, 9L), (record.InputTokens, record.OutputTokens, record.TotalTokens));
        Assert.Equal(("openai-http", "sdk"), (record.Metadata["surface"], record.Metadata["source"]));
    }

    [Fact]
    public async Task ChatCompletions_ParametersReachTheProvider()
    {
        await using var gateway = await TestGateway.StartAsync();
        using var http = Raw(gateway);

        using var response = await http.SendAsync(Post("""
            {"model":"openai/gpt-4o-mini","messages":[{"role":"developer","content":"be brief"},{"role":"user","content":[{"type":"text","text":"hi"},{"type":"image_url","image_url":{"url":"https://example.com/cat.png"}}]}],
             "temperature":0.5,"top_p":0.9,"max_completion_tokens":77,"stop":["END"],"seed":42,"response_format":{"type":"json_object"},"user":"u-1"}
            """)).DefaultTimeout();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var sent = gateway.OpenAI.Requests.Single().Json!.Value;
        Assert.Equal(0.5, sent.GetProperty("temperature").GetDouble());
        Assert.Equal(0.9, sent.GetProperty("top_p").GetDouble());
        Assert.Equal(77, sent.GetProperty("max_completion_tokens").GetInt32());
        Assert.Equal("END", sent.GetProperty("stop")[0].GetString());
        Assert.Equal(42, sent.GetProperty("seed").GetInt32());
        Assert.Equal("json_object", sent.GetProperty("response_format").GetProperty("type").GetString());
        Assert.Contains("https://example.com/cat.png", sent.GetProperty("messages").GetRawText(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task ChatCompletions_Fallback_ToAnotherProviderWithItsOwnCredentialHeader()
    {
        await using var gateway = await TestGateway.StartAsync();
        gateway.OpenAI.DefaultScript = FakeScript.Error(503);
        gateway.Anthropic.DefaultScript = new FakeScript { TextChunks = ["from claude"] };
        using var http = Raw(gateway);
        var request = Post("""{"model":"openai/gpt-4o-mini","fallbacks":["anthropic/claude-sonnet-4-5"],"messages":[{"role":"user","content":"hi"}]}""");
        request.Headers.Add("x-provider-key-anthropic", "test-key");

        using var response = await http.SendAsync(request).DefaultTimeout();
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("anthropic/claude-sonnet-4-5", json.RootElement.GetProperty("model").GetString());
        Assert.Equal("from claude", json.RootElement.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString());
        Assert.Equal("test-key", gateway.Anthropic.Requests.Single().Header("x-api-key"));
    }

    [Fact]
    public async Task Models_NeedTheCallerKey_AndListTheConfiguredModels()
    {
        await using var gateway = await TestGateway.StartAsync(new Dictionary<string, string?>
        {
            ["OpenAICompatible:Models:0"] = "openai/gpt-4o-mini",
            ["OpenAICompatible:Models:1"] = "anthropic/claude-sonnet-4-5",
        });
        using var anonymous = Raw(gateway, callerKey: "");
        using var http = Raw(gateway);

        var refused = await ErrorOf(await anonymous.GetAsync("/v1/models").DefaultTimeout());
        using var json = JsonDocument.Parse(await http.GetStringAsync("/v1/models").DefaultTimeout());

        Assert.Equal(HttpStatusCode.Unauthorized, refused.Status);
        Assert.Equal("list", json.RootElement.GetProperty("object").GetString());
        Assert.Equal(["openai/gpt-4o-mini", "anthropic/claude-sonnet-4-5"], json.RootElement.GetProperty("data").EnumerateArray().Select(m => m.GetProperty("id").GetString()));
        Assert.Equal("anthropic", json.RootElement.GetProperty("data")[1].GetProperty("owned_by").GetString());
    }

    [Fact]
    public async Task Routes_AnswerOnlyOnTheirOwnListener()
    {
        await using var gateway = await TestGateway.StartAsync();
        using var operatorPort = new HttpClient { BaseAddress = new Uri(gateway.HttpAddress) };
        operatorPort.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", TestGateway.ApiKey);
        using var grpcPort = new HttpClient { BaseAddress = new Uri(gateway.Channel.Target.StartsWith("http", StringComparison.Ordinal) ? gateway.Channel.Target : "http://" + gateway.Channel.Target) };
        grpcPort.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", TestGateway.ApiKey);
        var h2 = Post(Chat);
        (h2.Version, h2.VersionPolicy) = (HttpVersion.Version20, HttpVersionPolicy.RequestVersionExact); // the gRPC port speaks HTTP/2 only

        using var onOperator = await operatorPort.SendAsync(Post(Chat)).DefaultTimeout();
        using var modelsOnOperator = await operatorPort.GetAsync("/v1/models").DefaultTimeout();
        using var onGrpc = await grpcPort.SendAsync(h2).DefaultTimeout();

        Assert.Equal(HttpStatusCode.NotFound, onOperator.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, modelsOnOperator.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, onGrpc.StatusCode);
        Assert.Empty(gateway.OpenAI.Requests);

        // And the other way round: the callers' listener serves nothing but /v1 (no metrics, health or readiness there).
        using var callersPort = new HttpClient { BaseAddress = new Uri(gateway.OpenAIAddress) };
        foreach (var path in new[] { "/metrics", "/healthz", "/readiness" })
        {
            using var there = await callersPort.GetAsync(path).DefaultTimeout();
            Assert.True(there.StatusCode == HttpStatusCode.NotFound, $"{path} on the callers' listener: {(int)there.StatusCode}");
            using var operatorsOwn = await operatorPort.GetAsync(path).DefaultTimeout();
            Assert.Equal(HttpStatusCode.OK, operatorsOwn.StatusCode);
        }
    }

    /// <summary>The data of each SSE event.</summary>
    private static string[] Events(string body) =>
        body.Split("\n\n", StringSplitOptions.RemoveEmptyEntries).Select(e => e.StartsWith("data: ", StringComparison.Ordinal) ? e[6..] : throw new Xunit.Sdk.XunitException("not an SSE data event: " + e)).ToArray();
}

/// <summary>How OpenAI's request fields and the credential headers become what each provider gets.</summary>
public sealed class OpenAICompatibleMappingTests
{
    private static HttpRequestMessage Post(string body, params (string Name, string Value)[] headers)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions") { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        foreach (var (name, value) in headers) request.Headers.Add(name, value);
        return request;
    }

    [Fact]
    public async Task Stop_AsOneString_IsOneSequence_EvenWithACommaInIt()
    {
        await using var gateway = await TestGateway.StartAsync();
        using var http = Raw(gateway);

        using var response = await http.SendAsync(Post("""{"model":"openai/gpt-4o-mini","stop":"a, b","messages":[{"role":"user","content":"hi"}]}""", ("x-provider-key", "test-key"))).DefaultTimeout();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var stop = gateway.OpenAI.Requests.Single().Json!.Value.GetProperty("stop");
        Assert.Equal(["a, b"], stop.EnumerateArray().Select(s => s.GetString()));
    }

    [Fact]
    public async Task ToolChoice_NamingAFunction_ForcesACallWithOnlyThatTool()
    {
        await using var gateway = await TestGateway.StartAsync();
        using var http = Raw(gateway);

        using var response = await http.SendAsync(Post("""
            {"model":"openai/gpt-4o-mini","messages":[{"role":"user","content":"hi"}],
             "tools":[{"type":"function","function":{"name":"a","parameters":{"type":"object","properties":{}}}},
                      {"type":"function","function":{"name":"b","parameters":{"type":"object","properties":{"x":{"type":"string"}}}}}],
             "tool_choice":{"type":"function","function":{"name":"b"}}}
            """, ("x-provider-key", "test-key"))).DefaultTimeout();
        using var missing = await http.SendAsync(Post("""
            {"model":"openai/gpt-4o-mini","messages":[{"role":"user","content":"hi"}],
             "tools":[{"type":"function","function":{"name":"a"}}],"tool_choice":{"type":"function","function":{"name":"zzz"}}}
            """, ("x-provider-key", "test-key"))).DefaultTimeout();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var sent = gateway.OpenAI.Requests.Single().Json!.Value;
        Assert.Equal(["b"], sent.GetProperty("tools").EnumerateArray().Select(t => t.GetProperty("function").GetProperty("name").GetString()));
        Assert.Equal("required", sent.GetProperty("tool_choice").GetString());
        Assert.Equal(HttpStatusCode.BadRequest, missing.StatusCode);
    }

    [Fact]
    public async Task ProviderCredential_AsJson_WithVertexKeyAsAnObject_IsAccepted()
    {
        await using var gateway = await TestGateway.StartAsync();
        var fake = gateway.Fake("vertexai");
        var sent = TestRequests.Credential("vertexai", "test-key", fake).Value.Fields;
        var credential = new Dictionary<string, object>
        {
            ["project_id"] = sent["project_id"].StringValue,
            ["region"] = sent["region"].StringValue,
            ["service_account_key"] = JsonDocument.Parse(sent["service_account_key"].StringValue).RootElement, // the key's JSON as an object
        };
        using var http = Raw(gateway);

        using var response = await http.SendAsync(Post("""{"model":"vertexai/gemini-2.5-flash","messages":[{"role":"user","content":"hi"}]}""",
            ("x-provider-credential", JsonSerializer.Serialize(credential)))).DefaultTimeout();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Single(fake.Requests);
    }

    [Theory]
    [InlineData("x-provider-credential", "not json")]
    [InlineData("x-provider-credential", "[\"key\"]")]
    public async Task ProviderCredential_NotAJsonObject_Is400WithoutEchoingIt(string header, string value)
    {
        await using var gateway = await TestGateway.StartAsync();
        using var http = Raw(gateway);

        using var response = await http.SendAsync(Post("""{"model":"openai/gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}""", (header, value))).DefaultTimeout();
        var text = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("x-provider-credential must be a JSON object", text, StringComparison.Ordinal);
        Assert.DoesNotContain(value, text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ProviderCredential_BothHeaders_Is400()
    {
        await using var gateway = await TestGateway.StartAsync();
        using var http = Raw(gateway);

        using var response = await http.SendAsync(Post("""{"model":"openai/gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}""",
            ("x-provider-key", "test-key"), ("x-provider-credential", """{"key":"test-key"}"""))).DefaultTimeout();

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Empty(gateway.OpenAI.Requests);
    }
}
