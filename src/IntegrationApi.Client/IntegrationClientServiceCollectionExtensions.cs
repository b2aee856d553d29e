using IntegrationApi.Client;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>What <see cref="IntegrationClientServiceCollectionExtensions.AddIntegrationClient"/> registers.</summary>
public sealed class IntegrationClientServiceOptions
{
    /// <summary>The service address, <c>http://</c> or <c>https://</c> (required).</summary>
    public string Address { get; set; } = "";

    /// <summary>Headers, <see cref="IntegrationClientOptions.CallCredentials"/>, stream sharing: as for <c>new IntegrationClient(…)</c>.</summary>
    public IntegrationClientOptions Client { get; set; } = new();

    /// <summary>The provider of the registered <see cref="IChatClient"/> (e.g. <c>openai</c>); without it, resolving <see cref="IChatClient"/> fails.</summary>
    public string? ChatProvider { get; set; }

    /// <summary>The provider credential the <see cref="IChatClient"/> sends (e.g. <c>["key"] = …</c>).</summary>
    public Dictionary<string, string> ChatCredential { get; set; } = new(StringComparer.Ordinal);

    /// <summary>The <see cref="IChatClient"/>'s model when <c>ChatOptions.ModelId</c> is not set.</summary>
    public string? ChatModel { get; set; }
}

/// <summary>DI registration of the Integration API client.</summary>
public static class IntegrationClientServiceCollectionExtensions
{
    /// <summary>
    /// Registers one shared <see cref="IntegrationClient"/> (it owns its channel; disposed with the container), and an
    /// <see cref="IChatClient"/> on it for <see cref="IntegrationClientServiceOptions.ChatProvider"/>.
    /// </summary>
    public static IServiceCollection AddIntegrationClient(this IServiceCollection services, Action<IntegrationClientServiceOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configure);
        services.AddOptions<IntegrationClientServiceOptions>().Configure(configure);
        services.TryAddSingleton(sp =>
        {
            var o = sp.GetRequiredService<IOptions<IntegrationClientServiceOptions>>().Value;
            return new IntegrationClient(o.Address, o.Client);
        });
        services.TryAddSingleton<IChatClient>(sp =>
        {
            var o = sp.GetRequiredService<IOptions<IntegrationClientServiceOptions>>().Value;
            if (o.ChatProvider is not { Length: > 0 } provider)
                throw new InvalidOperationException("AddIntegrationClient: set ChatProvider (and ChatCredential) to resolve an IChatClient");
            return sp.GetRequiredService<IntegrationClient>().AsIChatClient(provider, o.ChatCredential, o.ChatModel);
        });
        return services;
    }
}
