namespace IntegrationApi.Providers;

/// <summary>
/// Guards every answer of a provider's HttpClient, whoever reads it (our adapters, HttpClient buffering,
/// Google.Apis.Auth): a redirect is refused (following it would re-send the prompt and the key wherever it points),
/// and the body is read through a <see cref="LimitedReadStream"/> capped by <see cref="ProviderLimitsOptions"/>.
/// </summary>
internal sealed class ResponseGuardHandler(string provider, ProviderLimitsOptions limits) : DelegatingHandler
{
    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var response = await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
        try
        {
            RefuseRedirect(request, response);
            return Limit(response, await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false));
        }
        catch
        {
            response.Dispose();
            throw;
        }
    }

    protected override HttpResponseMessage Send(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var response = base.Send(request, cancellationToken);
        try
        {
            RefuseRedirect(request, response);
            return Limit(response, response.Content.ReadAsStream(cancellationToken));
        }
        catch
        {
            response.Dispose();
            throw;
        }
    }

    /// <summary>A 3xx is a provider failure (502, not retried) naming only the target's scheme, host and port.</summary>
    private void RefuseRedirect(HttpRequestMessage request, HttpResponseMessage response)
    {
        var status = (int)response.StatusCode;
        if (status is < 300 or >= 400) return;
        var location = response.Headers.Location;
        var target = location is null ? null : location.IsAbsoluteUri ? location : request.RequestUri is { } from ? new Uri(from, location) : null;
        var where = target?.GetComponents(UriComponents.SchemeAndServer, UriFormat.SafeUnescaped) ?? "an unknown place";
        throw new ProviderException(ProviderErrorKind.BadResponse, provider,
            $"{provider} answered HTTP {status} (a redirect to {where}); redirects are not followed", status, retryable: false);
    }

    private HttpResponseMessage Limit(HttpResponseMessage response, Stream body)
    {
        var inner = response.Content;
        var limited = new StreamContent(new LimitedReadStream(body, inner, provider, limits.MaxResponseBytes, limits.MaxLineBytes));
        foreach (var header in inner.Headers) limited.Headers.TryAddWithoutValidation(header.Key, header.Value);
        response.Content = limited;
        return response;
    }
}
