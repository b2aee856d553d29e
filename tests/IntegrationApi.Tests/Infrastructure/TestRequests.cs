using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using IntegrationApi.Contracts.Common;
using Proto = IntegrationApi.Contracts;

namespace IntegrationApi.Tests.Infrastructure;

/// <summary>Builds requests the way a client of the original contract does.</summary>
public static class TestRequests
{
    /// <summary>The providers whose adapters exist; every conformance test runs for each.</summary>
    public static readonly IReadOnlyList<string> Providers = TestProviders.All.Select(p => p.Name).ToArray();


    public static readonly IReadOnlyList<object[]> ProviderCases = Providers.Select(p => new object[] { p }).ToArray();

    /// <summary>Providers with tool calling.</summary>
    public static readonly IReadOnlyList<object[]> ToolProviderCases = TestProviders.All.Where(p => p.HasTools).Select(p => new object[] { p.Name }).ToArray();

    public static string DefaultModel(string provider) => TestProviders.Get(provider).DefaultModel;

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
    public static bool ReportsCachedTokens(string provider) => TestProviders.Get(provider).ReportsCachedTokens;

    /// <summary>The credential the fake saw, read from the provider's own auth header.</summary>
    public static string? SentKey(string provider, IntegrationApi.Testing.RecordedRequest request) => TestProviders.Get(provider).SentKey(request);

    /// <summary>The credential shape each provider takes (the original credential keys; README "Configuration"), pointed at <paramref name="fake"/>.</summary>
    public static Proto.Credential Credential(string provider, string key, IntegrationApi.Testing.FakeProviderServer fake) =>
        TestProviders.Get(provider).Credential?.Invoke(key, fake) ?? Credential(key);

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
