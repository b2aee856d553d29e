using IntegrationApi.Chat;
using IntegrationApi.Providers;
using Proto = IntegrationApi.Contracts;

namespace IntegrationApi.Api;

/// <summary>A validated request and the adapter that will serve it.</summary>
internal readonly record struct PreparedRequest(IChatProvider Provider, ChatRequest Request);

/// <summary>Picks the adapter for a request: the service's own provider, or <c>providerName</c> on <c>LlmService</c>.</summary>
internal sealed class ChatRouting(ProviderRegistry registry)
{
    /// <summary>The credential check of <paramref name="provider"/> (every adapter has one).</summary>
    public ICredentialVerifier Verifier(string provider) =>
        registry.Find(provider) as ICredentialVerifier ?? throw new InvalidOperationException($"the {provider} adapter cannot verify credentials");

    /// <summary>Validates and routes <paramref name="request"/>; problems throw <see cref="ChatRequestException"/> (400).</summary>
    public PreparedRequest Prepare(Proto.ChatRequest request, string? serviceProvider)
    {
        var named = request.ProviderName;
        string provider;
        if (serviceProvider is not null)
        {
            if (named.Length > 0 && !named.Equals(serviceProvider, StringComparison.OrdinalIgnoreCase))
                throw new ChatRequestException($"providerName \"{ProtoJson.Printable(named)}\" does not match this service ({serviceProvider}); use LlmService to pick a provider per request");
            provider = serviceProvider;
        }
        else if (named.Length == 0)
            throw new ChatRequestException($"providerName is required ({string.Join(", ", ProviderNames.All)})");
        else
            provider = named;

        var adapter = registry.Find(provider) ?? throw new ChatRequestException(
            $"providerName \"{ProtoJson.Printable(provider)}\" is unknown ({string.Join(", ", ProviderNames.All)})");
        return new PreparedRequest(adapter, ProtoMapping.ToChatRequest(request));
    }
}
