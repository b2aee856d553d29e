using IntegrationApi.Chat;

namespace IntegrationApi.Providers;

/// <summary>
/// One LLM provider's adapter: translates a <see cref="ChatRequest"/> to the provider's HTTP API and
/// streams its answer back as <see cref="ChatUpdate"/>s. It knows nothing of gRPC. The enumeration
/// ends only after the provider's terminal signal; failures are <see cref="ProviderException"/>s.
/// </summary>
public interface IChatProvider
{
    /// <summary>The provider's name, one of <see cref="ProviderNames"/>.</summary>
    string Name { get; }

    /// <summary>Streams the answer. Cancelling <paramref name="cancellationToken"/> aborts the HTTP call.</summary>
    IAsyncEnumerable<ChatUpdate> GetStreamingResponseAsync(ChatRequest request, CancellationToken cancellationToken);
}
