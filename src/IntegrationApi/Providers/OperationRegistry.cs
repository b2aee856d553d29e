using System.Collections.Frozen;
using IntegrationApi.Embeddings;
using IntegrationApi.Moderation;
using IntegrationApi.Reranking;

namespace IntegrationApi.Providers;

/// <summary>The adapters of the non-chat RPCs, by provider name (case-insensitive); a provider without one is absent.</summary>
public sealed class OperationRegistry(IEnumerable<IEmbeddingProvider> embedders, IEnumerable<IRerankProvider> rerankers, IEnumerable<IModerationProvider> moderators)
{
    private readonly FrozenDictionary<string, IEmbeddingProvider> _embedders = embedders.ToFrozenDictionary(p => p.Name, StringComparer.OrdinalIgnoreCase);
    private readonly FrozenDictionary<string, IRerankProvider> _rerankers = rerankers.ToFrozenDictionary(p => p.Name, StringComparer.OrdinalIgnoreCase);
    private readonly FrozenDictionary<string, IModerationProvider> _moderators = moderators.ToFrozenDictionary(p => p.Name, StringComparer.OrdinalIgnoreCase);

    public IEmbeddingProvider? Embedder(string name) => _embedders.GetValueOrDefault(name);

    public IRerankProvider? Reranker(string name) => _rerankers.GetValueOrDefault(name);

    public IModerationProvider? Moderator(string name) => _moderators.GetValueOrDefault(name);

    /// <summary>The providers with an embedding adapter, for error messages.</summary>
    public IEnumerable<string> Embedders => _embedders.Keys.Order();

    public IEnumerable<string> Rerankers => _rerankers.Keys.Order();

    public IEnumerable<string> Moderators => _moderators.Keys.Order();
}
