using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using IntegrationApi.Contracts.Common;
using Proto = IntegrationApi.Contracts;

namespace IntegrationApi.Tests.Infrastructure;

/// <summary>Builds requests the way a client of the original contract does.</summary>
public static class TestRequests
{
    /// <summary>The providers whose adapters exist; every conformance test runs for each.</summary>
    public static readonly IReadOnlyList<string> Providers = ["openai", "anthropic", "azure", "mistral", "gemini", "vertexai", "cohere", "replicate"];

    /// <summary>One RSA key for every test service account (generating one per test would cost ~100 ms).</summary>
    private static readonly Lazy<string> ServiceAccountPrivateKey = new(() => System.Security.Cryptography.RSA.Create(2048).ExportPkcs8PrivateKeyPem());

    public static readonly IReadOnlyList<object[]> ProviderCases = Providers.Select(p => new object[] { p }).ToArray();

    /// <summary>Providers with tool calling.</summary>
    public static readonly IReadOnlyList<object[]> ToolProviderCases = Providers.Where(p => p != "replicate").Select(p => new object[] { p }).ToArray();

    public static string DefaultModel(string provider) => provider switch
    {
        "anthropic" => "claude-sonnet-4-5",
        "mistral" => "mistral-small-latest",
        "gemini" or "vertexai" => "gemini-2.5-flash",
        "cohere" => "command-a-03-2025",
        "replicate" => "meta/meta-llama-3-8b-instruct",
        "azure" => "my-gpt4o-deployment",
        _ => "gpt-4o-mini",
    };

    /// <summary>A one-turn chat request with credential <c>{key}</c> and <c>model.name</c>.</summary>
    public static Proto.ChatRequest NewChat(string provider, string prompt, string clientRequestId = "", string key = "test-key")
    {
        var request = new Proto.ChatRequest
        {
            ClientRequestId = clientRequestId,
            Credential = Credential(key),
            Conversations = { Message("user", prompt) },
        };
        request.ModelParameters["model.name"] = Param(Value.ForString(DefaultModel(provider)));
        return request;
    }

    public static Proto.Credential Credential(string key) => new()
    {
        Id = 42,
        Value = new Struct { Fields = { ["key"] = Value.ForString(key) } },
    };

    /// <summary>Providers whose usage reports cached input tokens.</summary>
    public static bool ReportsCachedTokens(string provider) => provider is "openai" or "anthropic" or "azure" or "gemini" or "vertexai";

    /// <summary>The credential the fake saw, read from the provider's own auth header.</summary>
    public static string? SentKey(string provider, IntegrationApi.Testing.RecordedRequest request) => provider switch
    {
        "anthropic" => request.Header("x-api-key"),
        "azure" => request.Header("api-key"),
        "gemini" => request.Header("x-goog-api-key"),
        _ => request.Header("authorization") is { } auth && auth.StartsWith("Bearer ", StringComparison.Ordinal) ? auth[7..] : null,
    };

    /// <summary>The credential shape each provider takes (original-system.md §3.1), pointed at <paramref name="fake"/>.</summary>
    public static Proto.Credential Credential(string provider, string key, IntegrationApi.Testing.FakeProviderServer fake) => provider switch
    {
        "azure" => new Proto.Credential
        {
            Id = 42,
            Value = new Struct { Fields = { ["subscription_key"] = Value.ForString(key), ["endpoint"] = Value.ForString(fake.BaseUrl) } },
        },
        "vertexai" => new Proto.Credential
        {
            Id = 42,
            Value = new Struct
            {
                Fields =
                {
                    ["project_id"] = Value.ForString("test-project"),
                    ["region"] = Value.ForString("us-central1"),
                    ["service_account_key"] = Value.ForString(((IntegrationApi.Testing.VertexAIFake)fake).ServiceAccountJson(key, ServiceAccountPrivateKey.Value)),
                },
            },
        },
        _ => Credential(key),
    };

    public static Message Message(string role, string text) => new()
    {
        Role = role,
        Contents = { new Content { ContentType = "text", ContentFormat = "raw", Content_ = ByteString.CopyFromUtf8(text) } },
    };

    /// <summary>A model parameter packed as the Go client packs it: an Any wrapping a Value.</summary>
    public static Any Param(Value value) => Any.Pack(value);

    /// <summary>The original's weather tool definition.</summary>
    public static Proto.ToolDefinition WeatherTool() => new()
    {
        Type = "function",
        FunctionDefinition = new Proto.FunctionDefinition
        {
            Name = "get_weather",
            Description = "Current weather for a city",
            Parameters = new Proto.FunctionParameter
            {
                Type = "object",
                Required = { "city" },
                Properties = { ["city"] = new Proto.FunctionParameterProperty { Type = "string", Description = "City name" } },
            },
        },
    };
}
