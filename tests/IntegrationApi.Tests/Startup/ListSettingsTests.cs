using System.Text.Json.Nodes;
using IntegrationApi.Auth;
using IntegrationApi.Metrics;
using IntegrationApi.OpenAICompatible;
using IntegrationApi.Pricing;
using IntegrationApi.Providers.AzureOpenAI;
using IntegrationApi.Providers.Replicate;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace IntegrationApi.Tests.Startup;

/// <summary>
/// A list setting given by the operator (environment or command line, over the shipped appsettings*.json) is the whole
/// list: it replaces the default rather than merging into it item by item, so an operator can narrow it.
/// </summary>
public sealed class ListSettingsTests : IDisposable
{
    private readonly string _work = Directory.CreateTempSubdirectory("integration-api-lists-").FullName;

    public void Dispose() => Directory.Delete(_work, recursive: true);

    public static TheoryData<string, string[], string> Lists => new()
    {
        { "Providers:Azure:AllowedEndpointSuffixes", [".openai.corp.example"], nameof(AzureOpenAIOptions) },
        { "Providers:Replicate:AllowedUrlHosts", ["replicate.corp.example"], nameof(ReplicateOptions) },
        { "Metrics:Models", ["house-model"], nameof(MetricsOptions) },
        { "OpenAICompatible:Models", ["openai/gpt-4o-mini"], nameof(OpenAICompatibleOptions) },
        { "Auth:ApiKeys", [], nameof(AuthOptions) },          // Development ships one key at index 0
        { "Budgets:Projects", [], nameof(BudgetOptions) },
    };

    [Theory, MemberData(nameof(Lists))]
    public async Task OneItemGiven_IsTheWholeList(string setting, string[] items, string options)
    {
        var args = items.Select((item, i) => $"--{setting}:{i}={item}").ToList();
        if (options == nameof(AuthOptions))
            args.AddRange([$"--{setting}:0:Sha256={new string('a', 64)}", $"--{setting}:0:OrganizationId=5", $"--{setting}:0:ProjectId=6"]);
        if (options == nameof(BudgetOptions))
            args.AddRange([$"--{setting}:0:OrganizationId=5", $"--{setting}:0:ProjectId=6", $"--{setting}:0:LimitUsd=10", $"--{setting}:0:Period=Day"]);

        await using var app = Create(args);
        var bound = Bound(app.Services, options);
        Assert.Equal(items.Length == 0 ? 1 : items.Length, bound.Count);
        if (items.Length > 0) Assert.Equal(items, bound);
        if (options == nameof(AuthOptions)) Assert.Equal(new string('a', 64), app.Services.GetRequiredService<IOptions<AuthOptions>>().Value.ApiKeys.Single().Sha256);
    }

    [Fact]
    public async Task NoneGiven_TheDefaultsInTheCode()
    {
        await using var app = Create([]);
        Assert.Equal([".openai.azure.com", ".cognitiveservices.azure.com", ".services.ai.azure.com"], Bound(app.Services, nameof(AzureOpenAIOptions)));
        Assert.Equal(["api.replicate.com", "stream.replicate.com"], Bound(app.Services, nameof(ReplicateOptions)));
        Assert.Equal(MetricsOptions.ShippedModels, Bound(app.Services, nameof(MetricsOptions)));
        Assert.Empty(Bound(app.Services, nameof(OpenAICompatibleOptions)));
    }

    /// <summary>
    /// Configuration merges lists by index: a default list in appsettings.json would keep its later items under an
    /// operator's shorter list. So the shipped file has none (the defaults are in the options classes).
    /// </summary>
    [Fact]
    public void ShippedAppsettings_HoldsNoListThatAnOverrideWouldMergeInto()
    {
        var path = Path.Combine(Path.GetDirectoryName(ServiceProcess.BinaryPath)!, "appsettings.json");
        var lists = Arrays(JsonNode.Parse(File.ReadAllText(path))!).Where(a => a.Count > 0).Select(a => a.GetPath()).ToArray();
        Assert.Empty(lists);
    }

    private static IEnumerable<JsonArray> Arrays(JsonNode node) => node switch
    {
        JsonArray array => [array, .. array.OfType<JsonNode>().SelectMany(Arrays)],
        JsonObject obj => obj.Select(p => p.Value).OfType<JsonNode>().SelectMany(Arrays),
        _ => [],
    };

    private static IReadOnlyList<string> Bound(IServiceProvider services, string options) => options switch
    {
        nameof(AzureOpenAIOptions) => services.GetRequiredService<IOptions<AzureOpenAIOptions>>().Value.EndpointSuffixes,
        nameof(ReplicateOptions) => services.GetRequiredService<IOptions<ReplicateOptions>>().Value.UrlHosts,
        nameof(MetricsOptions) => services.GetRequiredService<IOptions<MetricsOptions>>().Value.EffectiveModels,
        nameof(OpenAICompatibleOptions) => services.GetRequiredService<IOptions<OpenAICompatibleOptions>>().Value.Models,
        nameof(AuthOptions) => services.GetRequiredService<IOptions<AuthOptions>>().Value.ApiKeys.Select(k => k.Sha256).ToArray(),
        nameof(BudgetOptions) => services.GetRequiredService<IOptions<BudgetOptions>>().Value.Projects.Select(p => $"{p.OrganizationId}/{p.ProjectId}").ToArray(),
        _ => throw new ArgumentOutOfRangeException(nameof(options)),
    };

    /// <summary>The service as built in Development (the shipped appsettings.json and appsettings.Development.json), settings last on the command line.</summary>
    private WebApplication Create(IEnumerable<string> settings) => IntegrationApiApp.Create(
        ["--environment", "Development", "--hostBuilder:reloadConfigOnChange=false",
         $"--Audit:SqlitePath={Path.Combine(_work, "audit.db")}", $"--Auth:KeyStorePath={Path.Combine(_work, "keys.db")}", .. settings],
        builder => builder.Logging.ClearProviders());
}
