using Google.Protobuf.WellKnownTypes;
using IntegrationApi.Testing;
using Proto = IntegrationApi.Contracts;

namespace IntegrationApi.Tests.Infrastructure;

/// <summary>
/// What the tests know about one provider: its gRPC service, a model its fake accepts, its fake and how the service is
/// pointed at it, what its credential looks like and where the key travels. Adding a provider adds one row here.
/// </summary>
public sealed record TestProvider(
    string Name,
    string ServiceName,
    string DefaultModel,
    Func<FakeProviderServer> NewFake,
    Func<FakeProviderServer, IEnumerable<KeyValuePair<string, string?>>> Settings,
    Func<RecordedRequest, string?> SentKey,
    bool HasTools = true,
    bool ReportsCachedTokens = false,
    Func<string, FakeProviderServer, Proto.Credential>? Credential = null);

/// <summary>The table of providers every conformance test runs for.</summary>
public static class TestProviders
{
    /// <summary>One RSA key for every test service account (generating one per test would cost ~100 ms).</summary>
    private static readonly Lazy<string> ServiceAccountPrivateKey = new(() => System.Security.Cryptography.RSA.Create(2048).ExportPkcs8PrivateKeyPem());

    private static IEnumerable<KeyValuePair<string, string?>> BaseUrl(string section, FakeProviderServer fake) => [new($"Providers:{section}:BaseUrl", fake.BaseUrl)];

    private static string? Bearer(RecordedRequest request) =>
        request.Header("authorization") is { } auth && auth.StartsWith("Bearer ", StringComparison.Ordinal) ? auth[7..] : null;

    public static readonly IReadOnlyList<TestProvider> All =
    [
        new("openai", "OpenAiService", "gpt-4o-mini", () => new OpenAIFake(), f => BaseUrl("OpenAI", f), Bearer, ReportsCachedTokens: true),
        new("anthropic", "AnthropicService", "claude-sonnet-4-5", () => new AnthropicFake(), f => BaseUrl("Anthropic", f), r => r.Header("x-api-key"), ReportsCachedTokens: true),
        new("azure", "AzureService", "my-gpt4o-deployment", () => new AzureOpenAIFake(),
            _ => [new("Providers:Azure:AllowLoopbackEndpoints", "true")], r => r.Header("api-key"), ReportsCachedTokens: true,
            Credential: (key, fake) => new Proto.Credential
            {
                Id = 42,
                Value = new Struct { Fields = { ["subscription_key"] = Value.ForString(key), ["endpoint"] = Value.ForString(fake.BaseUrl) } },
            }),
        new("mistral", "MistralService", "mistral-small-latest", () => new MistralFake(), f => BaseUrl("Mistral", f), Bearer),
        new("gemini", "GeminiService", "gemini-2.5-flash", () => new GeminiFake(), f => BaseUrl("Gemini", f), r => r.Header("x-goog-api-key"), ReportsCachedTokens: true),
        new("vertexai", "VertexAiService", "gemini-2.5-flash", () => new VertexAIFake(),
            f => [.. BaseUrl("VertexAI", f), new("Providers:VertexAI:TokenUri", ((VertexAIFake)f).TokenUri)], Bearer, ReportsCachedTokens: true,
            Credential: (key, fake) => new Proto.Credential
            {
                Id = 42,
                Value = new Struct
                {
                    Fields =
                    {
                        ["project_id"] = Value.ForString("test-project"),
                        ["region"] = Value.ForString("us-central1"),
                        ["service_account_key"] = Value.ForString(((VertexAIFake)fake).ServiceAccountJson(key, ServiceAccountPrivateKey.Value)),
                    },
                },
            }),
        new("cohere", "CohereService", "command-a-03-2025", () => new CohereFake(), f => BaseUrl("Cohere", f), Bearer),
        new("replicate", "ReplicateService", "meta/meta-llama-3-8b-instruct", () => new ReplicateFake(), f => BaseUrl("Replicate", f), Bearer, HasTools: false),
    ];

    private static readonly Dictionary<string, TestProvider> ByName = All.ToDictionary(p => p.Name, StringComparer.Ordinal);

    /// <summary>The row of <paramref name="name"/>.</summary>
    public static TestProvider Get(string name) => ByName.TryGetValue(name, out var p) ? p : throw new ArgumentException($"unknown provider {name}");
}
