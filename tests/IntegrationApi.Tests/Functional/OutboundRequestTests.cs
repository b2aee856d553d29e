using System.Text.Json.Nodes;
using Google.Protobuf.WellKnownTypes;
using IntegrationApi.Testing;
using IntegrationApi.Tests.Infrastructure;
using Microsoft.AspNetCore.Http;
using static IntegrationApi.Tests.Infrastructure.TestRequests;
using Proto = IntegrationApi.Contracts;

namespace IntegrationApi.Tests.Functional;

/// <summary>
/// Contract §7, "Outbound requests go only where the operator said": no redirect is followed, a key's token_uri
/// is ignored, caller input cannot walk a URL path or break a header, and every answer is read with a cap.
/// </summary>
public sealed class OutboundRequestTests
{
    public static IEnumerable<object[]> AllProviders => ProviderCases;

    public static IEnumerable<object[]> ProvidersAndBadValues =>
        from provider in TestRequests.Providers from bad in new[] { "bad\r\nX-Injected: 1", "bad\0key-0123", "bäd-key-0123" } select new object[] { provider, bad };

    public static IEnumerable<object[]> ProvidersAndShapes =>
        from provider in TestRequests.Providers from shape in new[] { "many lines", "one line" } select new object[] { provider, shape };

    private static async Task<TestGateway> StartAsync(VertexAIFake tokens) =>
        await TestGateway.StartAsync(OutboundSettings.WithTokenEndpoint(tokens, smallCaps: true));

    private static Func<HttpContext, Task<bool>> RedirectTo(string url) => context =>
    {
        context.Response.StatusCode = 307;
        context.Response.Headers.Location = url;
        return Task.FromResult(true);
    };

    [Theory, MemberData(nameof(AllProviders))]
    public async Task ProviderRedirects_NotFollowed_502(string provider)
    {
        await using var elsewhere = new RecordingListener();
        await using var tokens = await VertexAIFake.StartNewAsync();
        await using var gateway = await StartAsync(tokens);
        gateway.Fake(provider).Intercept = RedirectTo(elsewhere.Url + "/collect?stolen=yes");

        var chat = await gateway.ChatAsync(provider, gateway.NewChat(provider, "the prompt"));
        var verify = await gateway.VerifyCredentialAsync(provider, new Proto.VerifyCredentialRequest { Credential = gateway.NewChat(provider, "x").Credential });

        Assert.Equal(502, chat.Code);
        Assert.Contains("redirects are not followed", chat.Error.ErrorMessage);
        Assert.DoesNotContain("stolen", chat.Error.ErrorMessage);
        Assert.Equal(502, verify.Code);
        Assert.False(elsewhere.SawConnection, "the redirect target was contacted");
    }

    /// <summary>
    /// With tracing off, nothing about the caller's call reaches a provider: no trace context header (ASP.NET Core's
    /// per-request activity used to make HttpClient invent and send one) and no activity on the request path.
    /// </summary>
    [Fact]
    public async Task WithoutTracing_NoTraceContextGoesToProviders()
    {
        await using var gateway = await TestGateway.StartAsync();
        var unary = await gateway.ChatAsync("openai", gateway.NewChat("openai", "one"));
        using var stream = gateway.OpenStream("openai");
        await stream.SendAsync(gateway.NewChat("openai", "two"));
        var streamed = await stream.ReadUntilAsync(r => r.FinishReason.Length > 0 || !r.Success);

        Assert.Equal(200, unary.Code);
        Assert.True(streamed.Success);
        var requests = gateway.Fake("openai").Requests;
        Assert.Equal(2, requests.Count);
        foreach (var request in requests)
        {
            Assert.False(request.Headers.ContainsKey("traceparent"), "a trace context went to the provider");
            Assert.False(request.Headers.ContainsKey("request-id"), "a trace id went to the provider");
        }
    }

    [Fact]
    public async Task VertexKeyWithForeignTokenUri_OnlyTheConfiguredEndpointIsAsked()
    {
        await using var elsewhere = new RecordingListener();
        await using var tokens = await VertexAIFake.StartNewAsync();
        await using var gateway = await StartAsync(tokens);
        var request = gateway.NewChat("vertexai", "hi");
        var key = JsonNode.Parse(request.Credential.Value.Fields["service_account_key"].StringValue)!;
        key["token_uri"] = elsewhere.Url + "/token";
        request.Credential.Value.Fields["service_account_key"] = Value.ForString(key.ToJsonString());

        var response = await gateway.ChatAsync("vertexai", request);

        Assert.True(response.Success, response.Describe());
        Assert.Equal(1, tokens.TokenExchanges);
        Assert.False(elsewhere.SawConnection, "the key's token_uri was contacted");
    }

    [Fact]
    public async Task VertexTokenEndpointRedirects_NotFollowed_502()
    {
        await using var elsewhere = new RecordingListener();
        await using var tokens = await VertexAIFake.StartNewAsync();
        await using var gateway = await StartAsync(tokens);
        tokens.Intercept = RedirectTo(elsewhere.Url + "/token?stolen=yes");

        var response = await gateway.ChatAsync("vertexai", gateway.NewChat("vertexai", "hi"));

        Assert.Equal(502, response.Code);
        Assert.Contains("redirects are not followed", response.Error.ErrorMessage);
        Assert.False(elsewhere.SawConnection, "the redirect target was contacted");
        Assert.Empty(gateway.Fake("vertexai").Requests);
    }

    [Theory]
    [InlineData(400, "")]
    [InlineData(502, "null")]
    [InlineData(400, "<html>Bad Request</html>")]
    public async Task VertexTokenEndpointErrorWithoutOAuthError_502Or401_NoErrorLog(int status, string body)
    {
        await using var tokens = await VertexAIFake.StartNewAsync();
        await using var gateway = await StartAsync(tokens);
        tokens.Intercept = async context =>
        {
            context.Response.StatusCode = status;
            await context.Response.WriteAsync(body);
            return true;
        };

        var response = await gateway.ChatAsync("vertexai", gateway.NewChat("vertexai", "hi")).DefaultTimeout();

        Assert.False(response.Success);
        Assert.Contains("token", response.Error.ErrorMessage);
        Assert.DoesNotContain("<html>", response.Error.ErrorMessage);
        Assert.Equal(body.Length == 0 || status >= 500 ? 502 : 401, response.Code);
    }

    [Fact]
    public async Task VertexTokenEndpointError_OnlyTheOAuthCodeAndAShortDescription()
    {
        await using var tokens = await VertexAIFake.StartNewAsync();
        await using var gateway = await StartAsync(tokens);
        var description = "Invalid JWT: " + new string('x', 3000) + " END-OF-TEXT";
        tokens.Intercept = async context =>
        {
            context.Response.StatusCode = 400;
            context.Response.ContentType = "application/json";
            await context.Response.WriteAsync(new JsonObject { ["error"] = "invalid_grant", ["error_description"] = description }.ToJsonString());
            return true;
        };

        var response = await gateway.ChatAsync("vertexai", gateway.NewChat("vertexai", "hi"));

        Assert.Equal(401, response.Code);
        Assert.Contains("invalid_grant: Invalid JWT: xxx", response.Error.ErrorMessage);
        Assert.DoesNotContain("END-OF-TEXT", response.Error.ErrorMessage);
        Assert.True(response.Error.ErrorMessage.Length < 400, response.Error.ErrorMessage.Length.ToString());
    }

    [Theory]
    [InlineData("{\"access_token\":\"", "aaaaaaaaaaaaaaaa", "answer line larger than")]
    [InlineData("{\n", "\"padding\": \"aaaaaaaaaaaaaaaa\",\n", "answer larger than")]
    public async Task VertexTokenEndpointHugeAnswer_Capped_502(string head, string chunk, string expected)
    {
        await using var tokens = await VertexAIFake.StartNewAsync();
        await using var gateway = await StartAsync(tokens);
        tokens.Intercept = async context =>
        {
            await FakeProviderServer.WriteEndlessAsync(context, 200, "application/json", head, chunk);
            return true;
        };

        var response = await gateway.ChatAsync("vertexai", gateway.NewChat("vertexai", "hi")).DefaultTimeout();

        Assert.Equal(502, response.Code);
        Assert.Contains(expected, response.Error.ErrorMessage);
    }

    [Theory, MemberData(nameof(ProvidersAndShapes))]
    public async Task EndlessAnswer_ReadUpToTheCap_502(string provider, string shape)
    {
        await using var tokens = await VertexAIFake.StartNewAsync();
        await using var gateway = await StartAsync(tokens);
        gateway.Fake(provider).Intercept = async context =>
        {
            // Replicate's answer streams from the prediction's stream URL; its create call stays as it is.
            if (provider == "replicate" && !context.Request.Path.StartsWithSegments("/v1/files")) return false;
            if (shape == "one line") await FakeProviderServer.WriteEndlessAsync(context, 200, "text/event-stream", "data: ", "a");
            else await FakeProviderServer.WriteEndlessAsync(context, 200, "text/event-stream", "", ": " + new string('p', 1021) + "\n");
            return true;
        };

        var response = await gateway.ChatAsync(provider, gateway.NewChat(provider, "hi")).DefaultTimeout();

        Assert.Equal(502, response.Code);
        Assert.Contains(shape == "one line" ? $"answer line larger than {OutboundSettings.MaxLineBytes} bytes" : $"answer larger than {OutboundSettings.MaxResponseBytes} bytes",
            response.Error.ErrorMessage);
    }

    [Theory, MemberData(nameof(AllProviders))]
    public async Task HugeErrorBody_ReadOnlyItsStart(string provider)
    {
        await using var tokens = await VertexAIFake.StartNewAsync();
        await using var gateway = await StartAsync(tokens);
        gateway.Fake(provider).Intercept = async context =>
        {
            await FakeProviderServer.WriteEndlessAsync(context, 401, "text/plain", "Unauthorized: ", "0123456789abcdef");
            return true;
        };

        var response = await gateway.ChatAsync(provider, gateway.NewChat(provider, "hi")).DefaultTimeout();

        Assert.Equal(401, response.Code);
        Assert.StartsWith($"{provider} returned HTTP 401: Unauthorized: 0123456789abcdef", response.Error.ErrorMessage);
        Assert.True(response.Error.ErrorMessage.Length <= 64 * 1024 + 100, response.Error.ErrorMessage.Length.ToString());
    }

    [Fact]
    public async Task PlainTextErrorEchoingTheKey_RedactedBeforeAnyCut()
    {
        const string key = "5bd8f0e2a1c94e77-secret";
        await using var gateway = await TestGateway.StartAsync();
        gateway.Fake("openai").Intercept = async context =>
        {
            context.Response.StatusCode = 401;
            context.Response.ContentType = "text/plain";
            await context.Response.WriteAsync(new string('x', 290) + " " + key + " is not a valid key");
            return true;
        };

        var response = await gateway.ChatAsync("openai", gateway.NewChat("openai", "hi", key: key));

        Assert.Equal(401, response.Code);
        Assert.Contains("[redacted]", response.Error.ErrorMessage);
        Assert.DoesNotContain("5bd8f0e2", response.Error.ErrorMessage);
    }

    [Theory, MemberData(nameof(ProvidersAndBadValues))]
    public async Task CredentialValueThatCannotBeSent_400_NothingSent(string provider, string bad)
    {
        await using var tokens = await VertexAIFake.StartNewAsync();
        await using var gateway = await StartAsync(tokens);
        var request = gateway.NewChat(provider, "hi", key: bad);
        // Vertex sends no key in a header; its project id goes into a header and the URL ('$' let a final "\n" through).
        if (provider == "vertexai")
            request.Credential.Value.Fields["project_id"] = Value.ForString(bad.Contains('\n') ? "test-project\n" : bad.Contains('\0') ? "test-project\0" : "tést-project");

        var chat = await gateway.ChatAsync(provider, request);
        var verify = await gateway.VerifyCredentialAsync(provider, new Proto.VerifyCredentialRequest { Credential = request.Credential });

        Assert.Equal(400, chat.Code);
        Assert.Equal(400, verify.Code);
        Assert.Contains(provider == "vertexai" ? "credential.value.project_id" : "contains characters that cannot be sent", chat.Error.ErrorMessage);
        Assert.Empty(gateway.Fake(provider).Requests);
        Assert.Empty(gateway.Fake(provider).Verifications);
        Assert.Equal(0, tokens.TokenExchanges);
    }

    [Fact]
    public async Task OpenAIOrganizationThatCannotBeSent_400()
    {
        await using var gateway = await TestGateway.StartAsync();
        var request = gateway.NewChat("openai", "hi");
        request.Credential.Value.Fields["organization"] = Value.ForString("org-1\r\nX-Injected: 1");
        var response = await gateway.ChatAsync("openai", request);
        Assert.Equal(400, response.Code);
        Assert.Contains("credential.value.organization", response.Error.ErrorMessage);
        Assert.Empty(gateway.Fake("openai").Requests);
    }

    [Theory]
    [InlineData("azure", "..")]
    [InlineData("azure", ".")]
    [InlineData("azure", "deployment\n")]
    [InlineData("replicate", "../x")]
    [InlineData("replicate", "meta/..")]
    [InlineData("replicate", "./x")]
    [InlineData("gemini", "..")]
    [InlineData("gemini", "models/..")]
    [InlineData("gemini", "gemini-2.5-flash\n")]
    [InlineData("vertexai", "..")]
    [InlineData("vertexai", "gemini\u0001")]
    public async Task ModelNameThatWouldWalkTheUrl_400_NothingSent(string provider, string model)
    {
        await using var tokens = await VertexAIFake.StartNewAsync();
        await using var gateway = await StartAsync(tokens);
        var request = gateway.NewChat(provider, "hi");
        request.ModelParameters["model.name"] = Param(Value.ForString(model));

        var response = await gateway.ChatAsync(provider, request);

        Assert.Equal(400, response.Code);
        Assert.Contains("modelParameters[\"model.name\"]", response.Error.ErrorMessage);
        Assert.Empty(gateway.Fake(provider).Requests);
    }
}
