using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using IntegrationApi.Contracts;
using IntegrationApi.Contracts.Common;

namespace IntegrationApi.Bench;

/// <summary>The one chat every target is asked: a short user turn to gpt-4o-mini.</summary>
internal static class BenchRequests
{
    public const string Model = "gpt-4o-mini";
    public const string Prompt = "Say hello in one short sentence.";

    public static string OpenAIBody(bool stream, string model = Model) =>
        $$"""{"model":"{{model}}","stream":{{(stream ? "true" : "false")}},"messages":[{"role":"user","content":"{{Prompt}}"}]}""";

    public static ChatRequest Grpc()
    {
        var request = new ChatRequest
        {
            ProviderName = "openai",
            Credential = new Credential { Value = new Struct { Fields = { ["key"] = Value.ForString(BenchUpstream.Key) } } },
            Conversations = { new Message { Role = "user", Contents = { new Content { ContentType = "text", Content_ = ByteString.CopyFromUtf8(Prompt) } } } },
        };
        request.ModelParameters["model.name"] = Any.Pack(Value.ForString(Model));
        return request;
    }
}
