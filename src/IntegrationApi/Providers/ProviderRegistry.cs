using System.Collections.Frozen;

namespace IntegrationApi.Providers;

/// <summary>The registered adapters, by name (case-insensitive).</summary>
public sealed class ProviderRegistry(IEnumerable<IChatProvider> providers)
{
    private readonly FrozenDictionary<string, IChatProvider> _byName =
        providers.ToFrozenDictionary(p => p.Name, StringComparer.OrdinalIgnoreCase);

    /// <summary>The adapter named <paramref name="name"/>, or null when none is registered.</summary>
    public IChatProvider? Find(string name) => _byName.GetValueOrDefault(name);
}
