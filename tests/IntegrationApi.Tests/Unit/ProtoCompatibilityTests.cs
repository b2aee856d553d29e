using Google.Protobuf;
using Google.Protobuf.Reflection;
using Google.Protobuf.WellKnownTypes;
using IntegrationApi.Contracts.Common;
using Proto = IntegrationApi.Contracts;

namespace IntegrationApi.Tests.Unit;

/// <summary>
/// Contract §2: bytes written by hand with the original field numbers (docs/contract.md §2) decode into
/// our types and encode back to the same bytes, so clients generated from the original proto keep working.
/// </summary>
public sealed class ProtoCompatibilityTests
{
    private static byte[] Encode(Action<CodedOutputStream> write)
    {
        using var buffer = new MemoryStream();
        var output = new CodedOutputStream(buffer);
        write(output);
        output.Flush();
        return buffer.ToArray();
    }

    private static void Field(CodedOutputStream o, int number, byte[] message)
    {
        o.WriteTag(number, WireFormat.WireType.LengthDelimited);
        o.WriteBytes(ByteString.CopyFrom(message));
    }

    private static void Field(CodedOutputStream o, int number, string value)
    {
        o.WriteTag(number, WireFormat.WireType.LengthDelimited);
        o.WriteString(value);
    }

    private static void Varint(CodedOutputStream o, int number, ulong value)
    {
        o.WriteTag(number, WireFormat.WireType.Varint);
        o.WriteUInt64(value);
    }

    [Fact]
    public void ChatRequest_OriginalFieldNumbers_RoundTripByteForByte()
    {
        var secret = new Struct { Fields = { ["key"] = Value.ForString("sk-1") } }.ToByteArray();
        var credential = Encode(o => { Varint(o, 1, 42); Field(o, 2, secret); });
        var function = Encode(o => { Field(o, 1, "get_weather"); Field(o, 2, "{\"city\":\"Paris\"}"); });
        var toolCall = Encode(o => { Field(o, 1, "call_1"); Field(o, 2, "function"); Field(o, 3, function); });
        var content = Encode(o => { Field(o, 1, "n"); Field(o, 2, "text"); Field(o, 3, "raw"); Field(o, 4, "hello"); });
        var message = Encode(o => { Field(o, 1, "user"); Field(o, 2, content); Field(o, 3, toolCall); });
        var additional = Encode(o => { Field(o, 1, "assistant_id"); Field(o, 2, "9"); });
        var any = Any.Pack(Value.ForString("gpt-4o")).ToByteArray();
        var parameter = Encode(o => { Field(o, 1, "model.name"); Field(o, 2, any); });
        var property = Encode(o => { Field(o, 1, "string"); Field(o, 2, "City"); Field(o, 3, "Paris"); });
        var propertyEntry = Encode(o => { Field(o, 1, "city"); Field(o, 2, property); });
        var parameters = Encode(o => { Field(o, 1, "city"); Field(o, 2, "object"); Field(o, 3, propertyEntry); });
        var definition = Encode(o => { Field(o, 1, "get_weather"); Field(o, 2, "Weather"); Field(o, 3, parameters); });
        var tool = Encode(o => { Field(o, 1, "function"); Field(o, 2, definition); });
        var original = Encode(o =>
        {
            Field(o, 1, credential);
            Field(o, 4, message);
            Field(o, 5, additional);
            Field(o, 6, parameter);
            Field(o, 7, tool);
        });

        var parsed = Proto.ChatRequest.Parser.ParseFrom(original);

        Assert.Equal(42UL, parsed.Credential.Id);
        Assert.Equal("sk-1", parsed.Credential.Value.Fields["key"].StringValue);
        var m = Assert.Single(parsed.Conversations);
        Assert.Equal("user", m.Role);
        Assert.Equal(("n", "text", "raw", "hello"), (m.Contents[0].Name, m.Contents[0].ContentType, m.Contents[0].ContentFormat, m.Contents[0].Content_.ToStringUtf8()));
        Assert.Equal(("call_1", "function", "get_weather", "{\"city\":\"Paris\"}"), (m.ToolCalls[0].Id, m.ToolCalls[0].Type, m.ToolCalls[0].Function.Name, m.ToolCalls[0].Function.Arguments));
        Assert.Equal("9", parsed.AdditionalData["assistant_id"]);
        Assert.Equal("gpt-4o", parsed.ModelParameters["model.name"].Unpack<Value>().StringValue);
        var def = parsed.ToolDefinitions[0].FunctionDefinition;
        Assert.Equal(("get_weather", "Weather", "object", "city"), (def.Name, def.Description, def.Parameters.Type, def.Parameters.Required[0]));
        Assert.Equal("Paris", def.Parameters.Properties["city"].Enum[0]);
        Assert.Equal("", parsed.ClientRequestId);
        Assert.Equal(Proto.ChatAction.Chat, parsed.Action);

        Assert.Equal(original, parsed.ToByteArray());
    }

    [Fact]
    public void ChatResponse_OriginalFieldNumbers_RoundTripByteForByte()
    {
        var content = Encode(o => { Field(o, 2, "text"); Field(o, 3, "raw"); Field(o, 4, "Hi"); });
        var message = Encode(o => { Field(o, 1, "assistant"); Field(o, 2, content); });
        var error = Encode(o => { Varint(o, 1, 401); Field(o, 2, "engineer"); Field(o, 3, "human"); });
        var metric = Encode(o => { Field(o, 1, "TIME_TAKEN"); Field(o, 2, "123"); Field(o, 3, "ns"); });
        var original = Encode(o =>
        {
            Varint(o, 1, 401);
            Varint(o, 2, 1);
            Varint(o, 3, 7_000_000_000_000UL);
            Field(o, 4, message);
            Field(o, 6, error);
            Field(o, 7, metric);
            Field(o, 8, "error");
        });

        var parsed = Proto.ChatResponse.Parser.ParseFrom(original);

        Assert.Equal((401, true, 7_000_000_000_000UL), (parsed.Code, parsed.Success, parsed.RequestId));
        Assert.Equal("Hi", parsed.Data.Contents[0].Content_.ToStringUtf8());
        Assert.Equal((401UL, "engineer", "human"), (parsed.Error.ErrorCode, parsed.Error.ErrorMessage, parsed.Error.HumanMessage));
        Assert.Equal(("TIME_TAKEN", "123", "ns"), (parsed.Metrics[0].Name, parsed.Metrics[0].Value, parsed.Metrics[0].Description));
        Assert.Equal("error", parsed.FinishReason);
        Assert.Equal(original, parsed.ToByteArray());
    }

    [Fact]
    public void Additions_UseNewFieldNumbersOnly()
    {
        var request = Proto.ChatRequest.Descriptor;
        Assert.Equal(8, request.FindFieldByName("clientRequestId").FieldNumber);
        Assert.Equal(9, request.FindFieldByName("action").FieldNumber);
        Assert.Equal(10, request.FindFieldByName("providerName").FieldNumber);
        Assert.Equal(9, Proto.ChatResponse.Descriptor.FindFieldByName("clientRequestId").FieldNumber);
        Assert.Null(Proto.ChatResponse.Descriptor.FindFieldByNumber(5)); // unused in the original; stays unused
    }

    [Fact]
    public void Packages_AndServices_MatchTheOriginal()
    {
        Assert.Equal("Message", Message.Descriptor.FullName);               // common.proto: root namespace
        Assert.Equal("Metric", Metric.Descriptor.FullName);
        Assert.Equal("integration_api.ChatRequest", Proto.ChatRequest.Descriptor.FullName);
        var file = Proto.IntegrationApiReflection.Descriptor;
        string[] providers = ["OpenAiService", "AzureService", "GeminiService", "VertexAiService", "ReplicateService", "AnthropicService", "CohereService", "MistralService"];
        foreach (var name in providers)
        {
            var service = file.FindTypeByName<ServiceDescriptor>(name);
            Assert.NotNull(service);
            var chat = service.FindMethodByName("Chat");
            Assert.False(chat.IsClientStreaming || chat.IsServerStreaming);
            var stream = service.FindMethodByName("StreamChat");
            Assert.True(stream.IsClientStreaming && stream.IsServerStreaming, $"{name}.StreamChat must be bidirectional");
            Assert.NotNull(service.FindMethodByName("VerifyCredential"));
        }
        Assert.NotNull(file.FindTypeByName<ServiceDescriptor>("OpenAiService").FindMethodByName("GetModeration"));
        Assert.NotNull(file.FindTypeByName<ServiceDescriptor>("CohereService").FindMethodByName("Reranking"));
        Assert.NotNull(file.FindTypeByName<ServiceDescriptor>("LlmService").FindMethodByName("StreamChat"));
    }
}
