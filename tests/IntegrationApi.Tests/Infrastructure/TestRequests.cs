using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using IntegrationApi.Contracts.Common;
using Proto = IntegrationApi.Contracts;

namespace IntegrationApi.Tests.Infrastructure;

/// <summary>Builds requests the way a client of the original contract does.</summary>
public static class TestRequests
{
    public static readonly IReadOnlyList<object[]> ProviderCases = [["openai"], ["anthropic"]];

    public static string DefaultModel(string provider) => provider == "anthropic" ? "claude-sonnet-4-5" : "gpt-4o-mini";

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
