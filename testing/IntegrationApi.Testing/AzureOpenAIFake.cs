using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;

namespace IntegrationApi.Testing;

/// <summary>
/// A loopback Azure OpenAI resource (https://learn.microsoft.com/azure/ai-services/openai/reference): <c>/openai/deployments/{d}/chat/completions?api-version=…</c>,
/// <c>api-key</c> header, a leading prompt-filter chunk with empty <c>choices</c>, <c>content_filter_results</c> on
/// choices, Azure's <c>{"error":{"code","message"}}</c> bodies. <see cref="FakeProviderServer.BaseUrl"/> is the resource endpoint.
/// </summary>
public sealed class AzureOpenAIFake : OpenAIFake
{
    public static new async Task<AzureOpenAIFake> StartNewAsync(int port = 0)
    {
        var fake = new AzureOpenAIFake();
        await fake.StartAsync(port).ConfigureAwait(false);
        return fake;
    }

    protected override string BasePath => "";

    protected override void AddResponseHeaders(HttpResponse response)
    {
        response.Headers["apim-request-id"] = Guid.NewGuid().ToString();
        response.Headers["x-ms-region"] = "East US";
    }

    protected override bool IsAuthorized(RecordedRequest request) => request.Header("api-key") == ValidKey;

    protected override (string Method, string Path) VerifyRoute => ("GET", "/openai/models");

    protected override bool IsChatPath(RecordedRequest request) =>
        request.Path.StartsWith("/openai/deployments/", StringComparison.Ordinal)
        && request.Path.EndsWith("/chat/completions", StringComparison.Ordinal)
        && request.Query.Contains("api-version=", StringComparison.Ordinal);

    protected override string UnauthorizedBody => new JsonObject
    {
        ["error"] = new JsonObject
        {
            ["code"] = "401",
            ["message"] = "Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key for an active subscription and use a correct regional API endpoint for your resource.",
        },
    }.ToJsonString();

    protected override string ScriptedErrorBody(int status, FakeScript script) => new JsonObject
    {
        ["error"] = new JsonObject { ["code"] = script.ErrorType ?? status.ToString(), ["message"] = script.ErrorMessage },
    }.ToJsonString();

    protected override IEnumerable<string> Preamble(RecordedRequest request)
    {
        var chunk = new JsonObject
        {
            ["choices"] = new JsonArray(), ["created"] = 0, ["id"] = "", ["model"] = "", ["object"] = "",
            ["prompt_filter_results"] = new JsonArray(new JsonObject { ["prompt_index"] = 0, ["content_filter_results"] = Safe() }),
        };
        yield return "data: " + chunk.ToJsonString() + "\n\n";
    }

    protected override void DecorateChoice(JsonObject choice) => choice["content_filter_results"] = Safe();

    private static JsonObject Safe()
    {
        var result = new JsonObject();
        foreach (var category in new[] { "hate", "self_harm", "sexual", "violence" })
            result[category] = new JsonObject { ["filtered"] = false, ["severity"] = "safe" };
        return result;
    }

    /// <summary>Deployment embeddings, and Azure AI Content Safety on the same resource endpoint.</summary>
    protected override FakeOperation? OperationFor(RecordedRequest request) => OpenAIOperations.ForAzure(request);
}
