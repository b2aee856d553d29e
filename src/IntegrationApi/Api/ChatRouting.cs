using IntegrationApi.Chat;
using IntegrationApi.Engine;
using IntegrationApi.Providers;
using Proto = IntegrationApi.Contracts;

namespace IntegrationApi.Api;

/// <summary>A validated request: where it runs (the primary first, then its fallbacks) and when to hedge.</summary>
internal readonly record struct PreparedRequest(IReadOnlyList<ChatTarget> Targets, TimeSpan? HedgeAfter);

/// <summary>Picks the adapter for a request: the service's own provider, or <c>providerName</c> on <c>LlmService</c>.</summary>
internal sealed class ChatRouting(ProviderRegistry registry)
{
    /// <summary>The credential check of <paramref name="provider"/> (every adapter has one).</summary>
    public ICredentialVerifier Verifier(string provider) =>
        registry.Find(provider) as ICredentialVerifier ?? throw new InvalidOperationException($"the {provider} adapter cannot verify credentials");

    /// <summary>At most this many fallback targets per request.</summary>
    public const int MaxFallbacks = 8;

    /// <summary>The longest <c>hedgeAfterMs</c> accepted (ten minutes, the default total timeout).</summary>
    public const uint MaxHedgeAfterMs = 600_000;

    /// <summary>Validates and routes <paramref name="request"/> and its fallbacks; problems throw <see cref="ChatRequestException"/> (400) before any upstream call.</summary>
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

        var primary = new ChatTarget(Adapter(provider, "providerName"), ProtoMapping.ToChatRequest(request));
        if (request.Fallbacks.Count > MaxFallbacks)
            throw new ChatRequestException($"fallbacks has {request.Fallbacks.Count} targets; at most {MaxFallbacks}");
        if (request.HedgeAfterMs > MaxHedgeAfterMs)
            throw new ChatRequestException($"hedgeAfterMs must be at most {MaxHedgeAfterMs}");
        if (request.HedgeAfterMs > 0 && request.Fallbacks.Count == 0)
            throw new ChatRequestException("hedgeAfterMs needs at least one fallback target to hedge with");
        var targets = new ChatTarget[request.Fallbacks.Count + 1];
        targets[0] = primary;
        for (var i = 0; i < request.Fallbacks.Count; i++)
        {
            var target = request.Fallbacks[i];
            var name = target.ProviderName.Length == 0 ? provider : target.ProviderName;
            if (serviceProvider is not null && !name.Equals(serviceProvider, StringComparison.OrdinalIgnoreCase))
                throw new ChatRequestException($"fallbacks[{i}].providerName \"{ProtoJson.Printable(name)}\" does not match this service ({serviceProvider}); other providers' fallbacks need LlmService");
            targets[i + 1] = new ChatTarget(Adapter(name, $"fallbacks[{i}].providerName"), ProtoMapping.ToTargetRequest(primary.Request, request, target, i));
        }
        return new PreparedRequest(targets, request.HedgeAfterMs > 0 ? TimeSpan.FromMilliseconds(request.HedgeAfterMs) : null);
    }

    private IChatProvider Adapter(string provider, string field) => registry.Find(provider) ?? throw new ChatRequestException(
        $"{field} \"{ProtoJson.Printable(provider)}\" is unknown ({string.Join(", ", ProviderNames.All)})");
}
