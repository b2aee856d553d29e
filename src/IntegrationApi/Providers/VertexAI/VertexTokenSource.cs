using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Google.Apis.Auth.OAuth2;
using Google.Apis.Auth.OAuth2.Responses;
using IntegrationApi.Chat;
using Microsoft.Extensions.Options;

namespace IntegrationApi.Providers.VertexAI;

/// <summary>
/// OAuth2 access tokens for service-account credentials, one <see cref="ServiceAccountCredential"/> per distinct key:
/// Google.Apis.Auth caches each token, refreshes it before it expires, and lets concurrent callers share
/// one exchange, so a burst of requests with one credential makes one token request. The exchange goes to the
/// configured token endpoint only: a key's own <c>token_uri</c> is caller input and is ignored.
/// </summary>
internal sealed class VertexTokenSource(IHttpMessageHandlerFactory handlers, IOptions<VertexAIOptions> options)
{
    /// <summary>The named HttpClient (redirects refused, answers capped) whose handler the token exchanges use.</summary>
    public const string ClientName = "VertexToken";

    private const string Scope = "https://www.googleapis.com/auth/cloud-platform";
    private const string Field = "credential.value.service_account_key";
    private const int MaxCredentials = 10_000;
    private const int MaxDescriptionChars = 200;
    private readonly ConcurrentDictionary<string, Lazy<ServiceAccountCredential>> _credentials = new(StringComparer.Ordinal);
    private readonly GoogleTokenHttpClientFactory _httpClients = new(handlers);
    private readonly string _tokenUri = options.Value.TokenUri;

    /// <summary>A bearer token for the credential's service account; a bad key is a 400, a refused one a 401.</summary>
    public async Task<string> GetTokenAsync(ProviderCredential credential, string provider, CancellationToken cancellationToken)
    {
        var json = credential.RequireText("service_account_key");
        var id = Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(json)));
        if (_credentials.Count >= MaxCredentials) _credentials.Clear(); // bounded: tokens are re-minted on demand
        var lazy = _credentials.GetOrAdd(id, _ => new Lazy<ServiceAccountCredential>(() => Create(json)));
        ServiceAccountCredential account;
        try { account = lazy.Value; }
        catch (Exception ex)
        {
            _credentials.TryRemove(id, out _);
            throw ex as ChatRequestException ?? new ChatRequestException($"{Field} is not a valid service-account JSON key");
        }
        try
        {
            return await ((ITokenAccess)account).GetAccessTokenForRequestAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (TokenResponseException ex)
        {
            var error = ex.Error?.Error;
            var kind = error is "invalid_grant" or "invalid_client" or "unauthorized_client"
                ? ProviderErrorKind.Unauthorized
                : (int?)ex.StatusCode is >= 500 ? ProviderErrorKind.UpstreamError : ProviderErrorKind.Unauthorized;
            // Only the OAuth error code and a short, redacted description: the endpoint's text is not ours to reflect.
            var code = error is { Length: > 0 and <= 64 } && error.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-' or '.') ? error : "unreadable answer";
            var description = ex.Error?.ErrorDescription is { Length: > 0 } d
                ? ": " + credential.RedactAndTruncate(new string(d.Where(c => !char.IsControl(c)).ToArray()), MaxDescriptionChars) : "";
            throw new ProviderException(kind, provider, $"{provider}: the service account's token exchange failed ({code}{description})", (int?)ex.StatusCode);
        }
        catch (HttpRequestException ex) when (!cancellationToken.IsCancellationRequested)
        {
            throw new ProviderException(ProviderErrorKind.UpstreamError, provider, $"{provider}: the token endpoint could not be reached", inner: ex);
        }
        catch (NullReferenceException ex)
        {
            // Google.Apis.Auth 1.78 fails this way on an error answer whose body is empty or JSON null
            // (TokenResponseException's constructor dereferences the missing error): the endpoint's answer, not our bug.
            throw new ProviderException(ProviderErrorKind.UpstreamError, provider, $"{provider}: the token endpoint's error answer could not be read", inner: ex);
        }
    }

    /// <summary>The credential built from the key's email and private key alone, bound to the configured token endpoint.</summary>
    private ServiceAccountCredential Create(string json)
    {
        using var key = JsonDocument.Parse(json);
        var root = key.RootElement;
        var initializer = new ServiceAccountCredential.Initializer(Text(root, "client_email"), _tokenUri)
        {
            KeyId = root.TryGetProperty("private_key_id", out var keyId) && keyId.ValueKind == JsonValueKind.String ? keyId.GetString() : null,
            Scopes = [Scope],
            HttpClientFactory = _httpClients,
        }.FromPrivateKey(Text(root, "private_key"));
        return new ServiceAccountCredential(initializer);
    }

    private static string Text(JsonElement root, string name) =>
        root.ValueKind == JsonValueKind.Object && root.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String && value.GetString() is { Length: > 0 } text
            ? text : throw new ChatRequestException($"{Field} has no {name}");
}

/// <summary>
/// Google.Apis.Auth's HTTP clients over our named handler (redirects refused, answers capped). Its own message
/// handler would follow redirects itself, so that is switched off too.
/// </summary>
internal sealed class GoogleTokenHttpClientFactory(IHttpMessageHandlerFactory handlers) : Google.Apis.Http.IHttpClientFactory
{
    private readonly OverNamedHandler _inner = new(handlers);

    public Google.Apis.Http.ConfigurableHttpClient CreateHttpClient(Google.Apis.Http.CreateHttpClientArgs args)
    {
        var client = _inner.CreateHttpClient(args);
        client.MessageHandler.FollowRedirect = false;
        return client;
    }

    // The factory's handler ignores Dispose, so the client of a dropped credential cannot close the shared pool.
    private sealed class OverNamedHandler(IHttpMessageHandlerFactory handlers) : Google.Apis.Http.HttpClientFactory
    {
        protected override HttpMessageHandler CreateHandler(Google.Apis.Http.CreateHttpClientArgs args) => handlers.CreateHandler(VertexTokenSource.ClientName);
    }
}
