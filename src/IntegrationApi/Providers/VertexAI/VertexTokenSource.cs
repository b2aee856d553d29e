using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using Google.Apis.Auth.OAuth2;
using Google.Apis.Auth.OAuth2.Responses;
using IntegrationApi.Chat;

namespace IntegrationApi.Providers.VertexAI;

/// <summary>
/// OAuth2 access tokens for service-account credentials, one <see cref="GoogleCredential"/> per distinct key:
/// Google.Apis.Auth caches each token, refreshes it before it expires, and lets concurrent callers share
/// one exchange, so a burst of requests with one credential makes one token request.
/// </summary>
internal sealed class VertexTokenSource
{
    private const string Scope = "https://www.googleapis.com/auth/cloud-platform";
    private const int MaxCredentials = 10_000;
    private readonly ConcurrentDictionary<string, Lazy<GoogleCredential>> _credentials = new(StringComparer.Ordinal);

    /// <summary>A bearer token for <paramref name="serviceAccountJson"/>; a bad key is a 400, a refused one a 401.</summary>
    public async Task<string> GetTokenAsync(string serviceAccountJson, string provider, CancellationToken cancellationToken)
    {
        var id = Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(serviceAccountJson)));
        if (_credentials.Count >= MaxCredentials) _credentials.Clear(); // bounded: tokens are re-minted on demand
        var credential = _credentials.GetOrAdd(id, _ => new Lazy<GoogleCredential>(() => Create(serviceAccountJson)));
        GoogleCredential google;
        try { google = credential.Value; }
        catch (Exception ex) when (ex is not ChatRequestException)
        {
            _credentials.TryRemove(id, out _);
            throw new ChatRequestException("credential.value.service_account_key is not a valid service-account JSON key");
        }
        try
        {
            return await ((ITokenAccess)google).GetAccessTokenForRequestAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (TokenResponseException ex)
        {
            var kind = ex.Error?.Error is "invalid_grant" or "invalid_client" or "unauthorized_client"
                ? Providers.ProviderErrorKind.Unauthorized
                : (int?)ex.StatusCode is >= 500 ? Providers.ProviderErrorKind.UpstreamError : Providers.ProviderErrorKind.Unauthorized;
            throw new Providers.ProviderException(kind, provider,
                $"{provider}: the service account's token exchange failed ({ex.Error?.Error}: {ex.Error?.ErrorDescription})", (int?)ex.StatusCode);
        }
        catch (HttpRequestException ex) when (!cancellationToken.IsCancellationRequested)
        {
            throw new Providers.ProviderException(Providers.ProviderErrorKind.UpstreamError, provider, $"{provider}: the token endpoint could not be reached", inner: ex);
        }
    }

    private static GoogleCredential Create(string json)
    {
        var account = CredentialFactory.FromJson<ServiceAccountCredential>(json);
        return GoogleCredential.FromServiceAccountCredential(account).CreateScoped(Scope);
    }
}
