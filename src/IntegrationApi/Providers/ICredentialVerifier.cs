using IntegrationApi.Chat;

namespace IntegrationApi.Providers;

/// <summary>An adapter that can check a credential with the provider's cheapest authenticated call.</summary>
public interface ICredentialVerifier
{
    /// <summary>Returns when the provider accepts <paramref name="credential"/>; throws <see cref="ProviderException"/> or <see cref="ChatRequestException"/> otherwise.</summary>
    Task VerifyAsync(ProviderCredential credential, CancellationToken cancellationToken);
}
