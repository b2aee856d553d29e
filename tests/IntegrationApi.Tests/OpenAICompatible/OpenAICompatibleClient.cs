using System.ClientModel;
using System.ClientModel.Primitives;
using IntegrationApi.Tests.Infrastructure;
using OpenAI;
using OpenAI.Chat;

namespace IntegrationApi.Tests.OpenAICompatible;

/// <summary>The official OpenAI .NET SDK and a raw HttpClient pointed at the service's OpenAI-compatible listener.</summary>
internal static class OpenAICompatibleClient
{
    /// <summary>The provider credential headers for <paramref name="provider"/>'s fake: one key, or the JSON object Azure and Vertex AI need.</summary>
    public static IReadOnlyDictionary<string, string> CredentialHeaders(TestGateway gateway, string provider, string key = "test-key")
    {
        var credential = TestRequests.Credential(provider, key, gateway.Fake(provider));
        return TestProviders.Get(provider).Credential is null
            ? new Dictionary<string, string> { ["x-provider-key"] = key }
            : new Dictionary<string, string> { ["x-provider-credential"] = Google.Protobuf.JsonFormatter.Default.Format(credential.Value) };
    }

    /// <summary>An SDK chat client for <c>&lt;provider&gt;/&lt;default model&gt;</c>, the caller's key as bearer, the provider credential as headers.</summary>
    public static ChatClient Sdk(TestGateway gateway, string provider, string key = "test-key", string callerKey = TestGateway.ApiKey)
    {
        var options = new OpenAIClientOptions { Endpoint = new Uri(gateway.OpenAIAddress + "/v1"), RetryPolicy = new ClientRetryPolicy(maxRetries: 0) };
        options.AddPolicy(new HeaderPolicy(CredentialHeaders(gateway, provider, key)), PipelinePosition.PerCall);
        return new ChatClient(provider + "/" + TestProviders.Get(provider).DefaultModel, new ApiKeyCredential(callerKey), options);
    }

    /// <summary>A raw client: base address the listener, bearer the caller's key unless <paramref name="callerKey"/> is empty.</summary>
    public static HttpClient Raw(TestGateway gateway, string callerKey = TestGateway.ApiKey)
    {
        var http = new HttpClient { BaseAddress = new Uri(gateway.OpenAIAddress), Timeout = TaskTimeoutExtensions.Limit };
        if (callerKey.Length > 0) http.DefaultRequestHeaders.Authorization = new("Bearer", callerKey);
        return http;
    }

    /// <summary>Adds fixed headers to every request the SDK sends (how a caller passes <c>x-provider-key</c>).</summary>
    internal sealed class HeaderPolicy(IReadOnlyDictionary<string, string> headers) : PipelinePolicy
    {
        public override void Process(PipelineMessage message, IReadOnlyList<PipelinePolicy> pipeline, int currentIndex)
        {
            Add(message);
            ProcessNext(message, pipeline, currentIndex);
        }

        public override ValueTask ProcessAsync(PipelineMessage message, IReadOnlyList<PipelinePolicy> pipeline, int currentIndex)
        {
            Add(message);
            return ProcessNextAsync(message, pipeline, currentIndex);
        }

        private void Add(PipelineMessage message)
        {
            foreach (var (name, value) in headers) message.Request.Headers.Set(name, value);
        }
    }
}
