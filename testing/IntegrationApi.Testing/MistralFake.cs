using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;

namespace IntegrationApi.Testing;

/// <summary>
/// A loopback Mistral API (https://docs.mistral.ai/api/): OpenAI-style chunks and <c>[DONE]</c>, usage on the finish chunk
/// without asking, tool calls whole in one delta, 422 for <c>stream_options</c> (unknown field), Mistral's error shapes.
/// </summary>
public sealed class MistralFake : OpenAIFake
{
    public static new async Task<MistralFake> StartNewAsync(int port = 0)
    {
        var fake = new MistralFake();
        await fake.StartAsync(port).ConfigureAwait(false);
        return fake;
    }

    protected override void AddResponseHeaders(HttpResponse response)
    {
        response.Headers["x-ratelimit-limit-req-minute"] = "60";
        response.Headers["x-ratelimit-remaining-req-minute"] = "59";
    }

    protected override bool UsageOnFinishChunk => true;

    protected override bool WholeToolCalls => true;

    protected override string UnauthorizedBody => """{"detail":"Unauthorized"}""";

    protected override (int Status, string Body)? RejectBody(JsonElement json)
    {
        foreach (var field in new[] { "stream_options", "seed", "user", "service_tier", "logprobs", "metadata" })
            if (json.TryGetProperty(field, out _))
                return (422, new JsonObject
                {
                    ["object"] = "error", ["message"] = $"Extra inputs are not permitted: body.{field}",
                    ["type"] = "invalid_request_message_error", ["param"] = null, ["code"] = null,
                }.ToJsonString());
        return null;
    }

    protected override string ScriptedErrorBody(int status, FakeScript script) => status == 429 && script.ErrorType is null
        ? """{"message":"Requests rate limit exceeded"}"""
        : new JsonObject
        {
            ["object"] = "error", ["message"] = script.ErrorMessage,
            ["type"] = script.ErrorType ?? (status >= 500 ? "internal_server_error" : "invalid_request_error"),
            ["param"] = null, ["code"] = null,
        }.ToJsonString();

    protected override JsonObject Usage(FakeScript s) => new()
    {
        ["prompt_tokens"] = s.InputTokens, ["total_tokens"] = s.InputTokens + s.OutputTokens, ["completion_tokens"] = s.OutputTokens,
    };

    /// <summary><c>/v1/embeddings</c>.</summary>
    protected override FakeOperation? OperationFor(RecordedRequest request) => OpenAIOperations.ForMistral(request, BasePath);
}
