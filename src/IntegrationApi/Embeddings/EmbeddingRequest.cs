using IntegrationApi.Chat;
using IntegrationApi.Engine;

namespace IntegrationApi.Embeddings;

/// <summary>One provider call's worth of texts to embed (at most the provider's batch limit), provider-neutral.</summary>
public sealed record EmbeddingRequest(IReadOnlyList<string> Inputs, EmbeddingOptions Options, ProviderCredential Credential);

/// <summary>What one provider call answered: one vector per input, in input order.</summary>
public sealed record EmbeddingBatch(IReadOnlyList<float[]> Vectors, TokenUsage? Usage) : ICallResult
{
    /// <summary>
    /// Checks that the provider answered one vector per input, at most once each (by its own index), and returns them in
    /// input order; anything else is a 502, never a silent gap or a shifted index.
    /// </summary>
    public static EmbeddingBatch InOrder(string provider, int inputs, IEnumerable<(int Index, float[] Vector)> answered, TokenUsage? usage)
    {
        var vectors = new float[inputs][];
        foreach (var (index, vector) in answered)
        {
            if (index < 0 || index >= inputs || vectors[index] is not null)
                throw new Providers.ProviderException(Providers.ProviderErrorKind.BadResponse, provider,
                    $"{provider} answered an embedding with index {index} for {inputs} inputs", retryable: false);
            vectors[index] = vector;
        }
        for (var i = 0; i < inputs; i++)
            if (vectors[i] is null)
                throw new Providers.ProviderException(Providers.ProviderErrorKind.BadResponse, provider,
                    $"{provider} answered no embedding for input {i} of {inputs}", retryable: false);
        return new EmbeddingBatch(vectors, usage);
    }
}

/// <summary>An adapter that can embed texts.</summary>
public interface IEmbeddingProvider
{
    /// <summary>The provider's name (<c>ProviderNames</c>).</summary>
    string Name { get; }

    /// <summary>Most inputs one call may carry for <paramref name="options"/>; more are split into several calls.</summary>
    int MaxBatchSize(EmbeddingOptions options);

    /// <summary>Embeds <paramref name="request"/>'s inputs with one provider call; throws <see cref="Providers.ProviderException"/> or <see cref="ChatRequestException"/>.</summary>
    Task<EmbeddingBatch> EmbedAsync(EmbeddingRequest request, CancellationToken cancellationToken);
}
