using System.Text.Json;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using IntegrationApi.Contracts.Common;
using IntegrationApi.Testing;
using IntegrationApi.Tests.Infrastructure;
using static IntegrationApi.Tests.Infrastructure.TestRequests;

namespace IntegrationApi.Tests.Functional;

/// <summary>Images and audio in each provider's format, prompt-caching markers, cache-write usage, structured output (docs/contract.md §8).</summary>
public sealed class MediaAndCachingTests
{
    private static readonly byte[] Png = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 1, 2, 3];
    private static readonly byte[] Wav = [0x52, 0x49, 0x46, 0x46, 0, 0, 0, 0, 0x57, 0x41, 0x56, 0x45, 1, 2];

    private static Content Media(string type, byte[] bytes, string? mime = null)
    {
        var content = new Content { ContentType = type, ContentFormat = "raw", Content_ = ByteString.CopyFrom(bytes) };
        if (mime is not null) content.Meta = new Struct { Fields = { ["mimeType"] = Value.ForString(mime) } };
        return content;
    }

    [Theory]
    [InlineData("openai")]
    [InlineData("azure")]
    [InlineData("mistral")]
    [InlineData("gemini")]
    [InlineData("vertexai")]
    [InlineData("anthropic")]
    [InlineData("cohere")]
    public async Task Reasoning_RawImage_ReachesEachProviderInItsFormat(string provider)
    {
        await using var gateway = await TestGateway.StartAsync();
        var request = gateway.NewChat(provider, "What is in this image?");
        request.Conversations[0].Contents.Add(Media("image", Png));

        var response = await gateway.ChatAsync(provider, request);

        Assert.True(response.Success, response.Describe());
        var base64 = Convert.ToBase64String(Png);
        var body = gateway.Fake(provider).Requests[0].Json!.Value;
        switch (provider)
        {
            case "gemini" or "vertexai":
                var inline = body.GetProperty("contents")[0].GetProperty("parts")[1].GetProperty("inlineData");
                Assert.Equal(("image/png", base64), (inline.GetProperty("mimeType").GetString(), inline.GetProperty("data").GetString()));
                break;
            case "anthropic":
                var source = body.GetProperty("messages")[0].GetProperty("content")[1].GetProperty("source");
                Assert.Equal(("base64", "image/png", base64), (source.GetProperty("type").GetString(), source.GetProperty("media_type").GetString(), source.GetProperty("data").GetString()));
                break;
            default:
                var part = body.GetProperty("messages")[0].GetProperty("content")[1];
                Assert.Equal("image_url", part.GetProperty("type").GetString());
                Assert.Equal("data:image/png;base64," + base64, part.GetProperty("image_url").GetProperty("url").GetString());
                break;
        }
    }

    [Theory]
    [InlineData("openai")]
    [InlineData("azure")]
    [InlineData("gemini")]
    [InlineData("vertexai")]
    public async Task Reasoning_RawAudio_ReachesProvidersThatTakeIt(string provider)
    {
        await using var gateway = await TestGateway.StartAsync();
        var request = gateway.NewChat(provider, "Transcribe this.");
        request.Conversations[0].Contents.Add(Media("audio", Wav));

        var response = await gateway.ChatAsync(provider, request);

        Assert.True(response.Success, response.Describe());
        var body = gateway.Fake(provider).Requests[0].Json!.Value;
        var base64 = Convert.ToBase64String(Wav);
        if (provider is "gemini" or "vertexai")
        {
            var inline = body.GetProperty("contents")[0].GetProperty("parts")[1].GetProperty("inlineData");
            Assert.Equal(("audio/wav", base64), (inline.GetProperty("mimeType").GetString(), inline.GetProperty("data").GetString()));
        }
        else
        {
            var audio = body.GetProperty("messages")[0].GetProperty("content")[1];
            Assert.Equal("input_audio", audio.GetProperty("type").GetString());
            Assert.Equal((base64, "wav"), (audio.GetProperty("input_audio").GetProperty("data").GetString(), audio.GetProperty("input_audio").GetProperty("format").GetString()));
        }
    }

    [Theory]
    [InlineData("anthropic")]
    [InlineData("mistral")]
    [InlineData("cohere")]
    [InlineData("replicate")]
    public async Task Reasoning_Audio_ToAProviderWithoutAudioInput_400NamingIt(string provider)
    {
        await using var gateway = await TestGateway.StartAsync();
        var request = gateway.NewChat(provider, "Transcribe this.");
        request.Conversations[0].Contents.Add(Media("audio", Wav));

        var response = await gateway.ChatAsync(provider, request);

        Assert.Equal(400, (int)response.Code);
        Assert.Contains(provider, response.Error.ErrorMessage);
        Assert.Contains("audio", response.Error.ErrorMessage);
        Assert.Empty(gateway.Fake(provider).Requests);
    }

    [Fact]
    public async Task Reasoning_AnthropicCacheControl_PerContentAndPerTool_AndCacheWriteTokens()
    {
        await using var gateway = await TestGateway.StartAsync();
        gateway.Anthropic.DefaultScript = new FakeScript { InputTokens = 1200, CachedInputTokens = 0, CacheWriteTokens = 1100 };
        var request = gateway.NewChat("anthropic", "Summarise the manual.");
        var system = Message("system", "A long manual …");
        system.Contents[0].Meta = new Struct { Fields = { ["cacheControl"] = Value.ForString("ephemeral"), ["cacheTtl"] = Value.ForString("1h") } };
        request.Conversations.Insert(0, system);
        request.Conversations[1].Contents[0].Meta = new Struct { Fields = { ["cacheControl"] = Value.ForString("ephemeral") } };
        var tool = WeatherTool();
        tool.Meta = new Struct { Fields = { ["cacheControl"] = Value.ForString("ephemeral") } };
        request.ToolDefinitions.Add(tool);

        var response = await gateway.ChatAsync("anthropic", request);

        Assert.True(response.Success, response.Describe());
        var body = gateway.Anthropic.Requests[0].Json!.Value;
        Assert.Equal("ephemeral", body.GetProperty("system")[0].GetProperty("cache_control").GetProperty("type").GetString());
        Assert.Equal("1h", body.GetProperty("system")[0].GetProperty("cache_control").GetProperty("ttl").GetString());
        Assert.Equal("ephemeral", body.GetProperty("messages")[0].GetProperty("content")[0].GetProperty("cache_control").GetProperty("type").GetString());
        Assert.Equal("ephemeral", body.GetProperty("tools")[0].GetProperty("cache_control").GetProperty("type").GetString());
        Assert.Equal("1100", response.Metric("CACHE_WRITE_INPUT_TOKEN"));
        Assert.Equal("1200", response.Metric("INPUT_TOKEN"));
    }

    private const string Schema = """{"type":"json_schema","json_schema":{"name":"weather","schema":{"type":"object","properties":{"temp_c":{"type":"number"}},"required":["temp_c"]},"strict":true}}""";

    [Theory]
    [InlineData("openai")]
    [InlineData("azure")]
    [InlineData("mistral")]
    [InlineData("gemini")]
    [InlineData("vertexai")]
    [InlineData("anthropic")]
    [InlineData("cohere")]
    public async Task Reasoning_StructuredOutput_JsonSchema_InEachProvidersForm(string provider)
    {
        await using var gateway = await TestGateway.StartAsync();
        var request = gateway.NewChat(provider, "Weather in Paris as JSON");
        request.ModelParameters["model.response_format"] = Param(Value.ForString(Schema));

        var response = await gateway.ChatAsync(provider, request);

        Assert.True(response.Success, response.Describe());
        var body = gateway.Fake(provider).Requests[0].Json!.Value;
        JsonElement schema;
        switch (provider)
        {
            case "gemini" or "vertexai":
                var config = body.GetProperty("generationConfig");
                Assert.Equal("application/json", config.GetProperty("responseMimeType").GetString());
                schema = config.GetProperty("responseJsonSchema");
                break;
            case "anthropic":
                var format = body.GetProperty("output_config").GetProperty("format");
                Assert.Equal("json_schema", format.GetProperty("type").GetString());
                schema = format.GetProperty("schema");
                break;
            case "cohere":
                Assert.Equal("json_object", body.GetProperty("response_format").GetProperty("type").GetString());
                schema = body.GetProperty("response_format").GetProperty("json_schema");
                break;
            default:
                Assert.Equal("json_schema", body.GetProperty("response_format").GetProperty("type").GetString());
                schema = body.GetProperty("response_format").GetProperty("json_schema").GetProperty("schema");
                break;
        }
        Assert.Equal("temp_c", schema.GetProperty("required")[0].GetString());
    }

    [Fact]
    public async Task Reasoning_ImageTypeAProviderDoesNotTake_400NamingIt_AndTheFakeRefusesItToo()
    {
        await using var gateway = await TestGateway.StartAsync();
        var request = gateway.NewChat("anthropic", "What is in this image?");
        request.Conversations[0].Contents.Add(Media("image", Png, "image/bmp"));

        var response = await gateway.ChatAsync("anthropic", request);

        Assert.Equal(400, (int)response.Code);
        Assert.Contains("anthropic takes JPEG, PNG, GIF or WebP images, not image/bmp", response.Error.ErrorMessage);
        Assert.Empty(gateway.Anthropic.Requests);

        using var http = new HttpClient();
        using var direct = new HttpRequestMessage(HttpMethod.Post, gateway.Anthropic.BaseUrl + "/messages")
        {
            Content = new StringContent("""
                {"model":"claude-sonnet-4-5","max_tokens":64,"messages":[{"role":"user","content":[{"type":"text","text":"hi"},
                 {"type":"image","source":{"type":"base64","media_type":"image/bmp","data":"Qk0="}}]}]}
                """, System.Text.Encoding.UTF8, "application/json"),
        };
        direct.Headers.Add("x-api-key", gateway.Anthropic.ValidKey);
        direct.Headers.Add("anthropic-version", "2023-06-01");
        using var refused = await http.SendAsync(direct);
        Assert.Equal(400, (int)refused.StatusCode);
        Assert.Contains("messages.0.content.1.image.source.base64.media_type", await refused.Content.ReadAsStringAsync());
    }
}
