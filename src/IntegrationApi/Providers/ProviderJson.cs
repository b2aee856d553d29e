using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace IntegrationApi.Providers;

/// <summary>A non-streaming provider call: a JSON request, a JSON answer (read through the response cap).</summary>
internal static class ProviderJson
{
    /// <summary>
    /// Sends <paramref name="message"/> (refusals become a <see cref="ProviderException"/> as in <see cref="ProviderHttp.SendAsync"/>)
    /// and reads the answer as <typeparamref name="T"/>; an answer that is not such JSON is a 502.
    /// </summary>
    public static async Task<T> SendAsync<T>(HttpClient client, HttpRequestMessage message, string provider,
        Func<string, ProviderErrorDescription> describeError, JsonTypeInfo<T> answer, CancellationToken cancellationToken) where T : class
    {
        using (message)
        using (var response = await ProviderHttp.SendAsync(client, message, provider, describeError, cancellationToken).ConfigureAwait(false))
        {
            await using var body = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
            return await JsonSerializer.DeserializeAsync(body, answer, cancellationToken).ConfigureAwait(false)
                ?? throw new ProviderException(ProviderErrorKind.BadResponse, provider, $"{provider} answered null", retryable: false);
        }
    }
}
