using IntegrationApi.Providers.Anthropic;
using IntegrationApi.Providers.AzureOpenAI;
using IntegrationApi.Providers.Cohere;
using IntegrationApi.Providers.Gemini;
using IntegrationApi.Providers.VertexAI;
using IntegrationApi.Providers.Mistral;
using IntegrationApi.Providers.OpenAI;
using IntegrationApi.Providers.Replicate;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace IntegrationApi.Providers;

/// <summary>Registers the provider adapters, one line each.</summary>
internal static class ProviderServiceCollectionExtensions
{
    public static IServiceCollection AddProviders(this IServiceCollection services)
    {
        services.AddChatProvider<OpenAIProvider, OpenAIOptions>("Providers:OpenAI");
        services.AddChatProvider<AnthropicProvider, AnthropicOptions>("Providers:Anthropic");
        services.AddChatProvider<AzureOpenAIProvider, AzureOpenAIOptions>("Providers:Azure");
        services.AddChatProvider<MistralProvider, MistralOptions>("Providers:Mistral");
        services.AddChatProvider<GeminiProvider, GeminiOptions>("Providers:Gemini");
        services.AddChatProvider<VertexAIProvider, VertexAIOptions>("Providers:VertexAI");
        services.TryAddSingleton<VertexTokenSource>();
        services.AddChatProvider<CohereProvider, CohereOptions>("Providers:Cohere");
        services.AddChatProvider<ReplicateProvider, ReplicateOptions>("Providers:Replicate");
        services.TryAddSingleton<ProviderRegistry>();
        return services;
    }

    /// <summary>
    /// Binds and validates the provider's options and gives it a named <see cref="HttpClient"/> whose pooled
    /// connections are shared by every request to that provider; only the credential headers differ per request.
    /// </summary>
    private static void AddChatProvider<TProvider, TOptions>(this IServiceCollection services, string section)
        where TProvider : class, IChatProvider
        where TOptions : ProviderOptions
    {
        var clientName = typeof(TProvider).Name;
        services.AddOptions<TOptions>().BindConfiguration(section).ValidateDataAnnotations().ValidateOnStart();
        services.AddHttpClient(clientName, client => client.Timeout = Timeout.InfiniteTimeSpan) // the engine owns timeouts
            .ConfigurePrimaryHttpMessageHandler(sp =>
            {
                var o = sp.GetRequiredService<IOptions<TOptions>>().Value;
                return new SocketsHttpHandler
                {
                    PooledConnectionLifetime = o.PooledConnectionLifetime,
                    PooledConnectionIdleTimeout = o.PooledConnectionIdleTimeout,
                    ConnectTimeout = TimeSpan.FromSeconds(10),
                    AutomaticDecompression = System.Net.DecompressionMethods.All,
                    EnableMultipleHttp2Connections = true,
                    UseCookies = false,
                };
            })
            // One long-lived handler: SocketsHttpHandler already rotates connections (PooledConnectionLifetime).
            .SetHandlerLifetime(Timeout.InfiniteTimeSpan)
            .RemoveAllLoggers(); // request URLs and headers stay out of the logs
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IChatProvider, TProvider>(sp =>
            ActivatorUtilities.CreateInstance<TProvider>(sp, sp.GetRequiredService<IHttpClientFactory>().CreateClient(clientName))));
    }
}
