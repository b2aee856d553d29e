using IntegrationApi.Providers.Anthropic;
using IntegrationApi.Providers.AzureOpenAI;
using IntegrationApi.Providers.Cohere;
using IntegrationApi.Providers.Gemini;
using IntegrationApi.Providers.VertexAI;
using IntegrationApi.Providers.Mistral;
using IntegrationApi.Providers.OpenAI;
using IntegrationApi.Providers.Replicate;
using IntegrationApi.Embeddings;
using IntegrationApi.Moderation;
using IntegrationApi.Reranking;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace IntegrationApi.Providers;

/// <summary>Registers the provider adapters, one line each.</summary>
internal static class ProviderServiceCollectionExtensions
{
    public static IServiceCollection AddProviders(this IServiceCollection services)
    {
        services.AddValidatedOptions<ProviderLimitsOptions, ProviderLimitsOptionsValidator>("Providers");
        services.AddChatProvider<OpenAIProvider, OpenAIOptions>(ProviderNames.OpenAI, "Providers:OpenAI");
        services.AddChatProvider<AnthropicProvider, AnthropicOptions>(ProviderNames.Anthropic, "Providers:Anthropic");
        services.AddChatProvider<AzureOpenAIProvider, AzureOpenAIOptions>(ProviderNames.Azure, "Providers:Azure");
        services.AddChatProvider<MistralProvider, MistralOptions>(ProviderNames.Mistral, "Providers:Mistral");
        services.AddChatProvider<GeminiProvider, GeminiOptions>(ProviderNames.Gemini, "Providers:Gemini");
        services.AddChatProvider<VertexAIProvider, VertexAIOptions>(ProviderNames.VertexAI, "Providers:VertexAI");
        services.AddProviderHttpClient<VertexAIOptions>(VertexTokenSource.ClientName, ProviderNames.VertexAI);
        services.TryAddSingleton<VertexTokenSource>();
        services.AddChatProvider<CohereProvider, CohereOptions>(ProviderNames.Cohere, "Providers:Cohere");
        services.AddChatProvider<ReplicateProvider, ReplicateOptions>(ProviderNames.Replicate, "Providers:Replicate");
        services.TryAddSingleton<ProviderRegistry>();
        services.AddOperationProviders();
        return services;
    }

    /// <summary>
    /// Binds and validates the provider's options and gives the provider its own <see cref="HttpClient"/>. The options are
    /// checked at start by their data annotations, inherited ones included (the <see cref="ProviderOptions"/> ranges).
    /// </summary>
    /// <summary>The adapters of Embedding, Reranking and GetModeration, one line each; they share their provider's options.</summary>
    private static void AddOperationProviders(this IServiceCollection services)
    {
        services.AddOperationProvider<IEmbeddingProvider, OpenAIEmbeddings, OpenAIOptions>(ProviderNames.OpenAI);
        services.AddOperationProvider<IEmbeddingProvider, AzureOpenAIEmbeddings, AzureOpenAIOptions>(ProviderNames.Azure);
        services.AddOperationProvider<IEmbeddingProvider, MistralEmbeddings, MistralOptions>(ProviderNames.Mistral);
        services.AddOperationProvider<IEmbeddingProvider, GeminiEmbeddings, GeminiOptions>(ProviderNames.Gemini);
        services.AddOperationProvider<IEmbeddingProvider, VertexAIEmbeddings, VertexAIOptions>(ProviderNames.VertexAI);
        services.AddOperationProvider<IEmbeddingProvider, CohereEmbeddings, CohereOptions>(ProviderNames.Cohere);
        services.AddOperationProvider<IRerankProvider, CohereRerank, CohereOptions>(ProviderNames.Cohere);
        services.AddOperationProvider<IModerationProvider, OpenAIModeration, OpenAIOptions>(ProviderNames.OpenAI);
        services.AddOperationProvider<IModerationProvider, AzureContentSafety, AzureOpenAIOptions>(ProviderNames.Azure);
        services.TryAddSingleton<OperationRegistry>();
    }

    private static void AddOperationProvider<TService, TProvider, TOptions>(this IServiceCollection services, string provider)
        where TService : class
        where TProvider : class, TService
        where TOptions : ProviderOptions
    {
        var clientName = typeof(TProvider).Name;
        services.AddProviderHttpClient<TOptions>(clientName, provider);
        services.TryAddEnumerable(ServiceDescriptor.Singleton<TService, TProvider>(sp =>
            ActivatorUtilities.CreateInstance<TProvider>(sp, sp.GetRequiredService<IHttpClientFactory>().CreateClient(clientName))));
    }

    private static void AddChatProvider<TProvider, TOptions>(this IServiceCollection services, string provider, string section)
        where TProvider : class, IChatProvider
        where TOptions : ProviderOptions
    {
        var clientName = typeof(TProvider).Name;
        services.AddOptionsWithValidateOnStart<TOptions>().BindConfiguration(section).ValidateDataAnnotations();
        services.AddProviderHttpClient<TOptions>(clientName, provider);
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IChatProvider, TProvider>(sp =>
            ActivatorUtilities.CreateInstance<TProvider>(sp, sp.GetRequiredService<IHttpClientFactory>().CreateClient(clientName))));
    }

    /// <summary>
    /// A named client whose pooled connections are shared by every request to the provider (only the credential
    /// headers differ per request). It never follows a redirect (that would re-send the prompt and the key to
    /// wherever the answer points), and every answer it reads is capped (<see cref="ProviderLimitsOptions"/>).
    /// </summary>
    private static void AddProviderHttpClient<TOptions>(this IServiceCollection services, string clientName, string provider)
        where TOptions : ProviderOptions =>
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
                    AllowAutoRedirect = false,
                };
            })
            // Above the primary handler, so the caps count decompressed bytes.
            .AddHttpMessageHandler(sp => new ResponseGuardHandler(provider, sp.GetRequiredService<IOptions<ProviderLimitsOptions>>().Value))
            // One long-lived handler: SocketsHttpHandler already rotates connections (PooledConnectionLifetime).
            .SetHandlerLifetime(Timeout.InfiniteTimeSpan)
            .RemoveAllLoggers(); // request URLs and headers stay out of the logs
}
