using System.ComponentModel.DataAnnotations;
using System.Net.Http.Headers;
using System.Runtime.CompilerServices;
using System.Text.RegularExpressions;
using IntegrationApi.Chat;
using IntegrationApi.Providers.GoogleGenAI;
using IntegrationApi.Providers.Sse;
using Microsoft.Extensions.Options;

namespace IntegrationApi.Providers.VertexAI;

/// <summary>Settings for Vertex AI (<c>Providers:VertexAI</c>).</summary>
public sealed class VertexAIOptions : ProviderOptions
{
    /// <summary>The API base; <c>{region}</c> is replaced by the credential's region (<c>global</c> has no regional host).</summary>
    [Required]
    public string BaseUrl { get; set; } = "https://{region}-aiplatform.googleapis.com/v1";

    /// <summary>
    /// The OAuth2 token endpoint every service-account exchange goes to; a key's own <c>token_uri</c> is ignored,
    /// so a caller cannot choose where the service sends a signed assertion.
    /// </summary>
    [Required, Url]
    public string TokenUri { get; set; } = "https://oauth2.googleapis.com/token";
}

/// <summary>
/// Gemini on Vertex AI: <c>projects/{project}/locations/{region}/publishers/google/models/{model}:streamGenerateContent</c>
/// with an OAuth2 token minted from the credential's service account (<c>project_id</c>, <c>region</c>, <c>service_account_key</c>).
/// </summary>
internal sealed partial class VertexAIProvider(HttpClient client, VertexTokenSource tokens, IOptions<VertexAIOptions> options) : IChatProvider, ICredentialVerifier
{
    private readonly string _baseTemplate = options.Value.BaseUrl.TrimEnd('/');

    public string Name => ProviderNames.VertexAI;

    public IAsyncEnumerable<ChatUpdate> GetStreamingResponseAsync(ChatRequest request, CancellationToken cancellationToken)
    {
        var body = GoogleWire.ToGenerateContentRequest(request, Name);
        var project = Segment(request.Credential, "project_id");
        var region = Segment(request.Credential, "region");
        var model = UrlSegment.Escape(GoogleWire.Model(request), $"modelParameters[\"{ModelParameters.Name}\"]");
        var url = new Uri($"{BaseFor(region)}/projects/{project}/locations/{region}/publishers/google/models/{model}:streamGenerateContent?alt=sse");
        return StreamAsync(new HttpRequestMessage(HttpMethod.Post, url) { Content = GoogleStream.ToContent(body) },
            request.Credential, project, cancellationToken);
    }

    private async IAsyncEnumerable<ChatUpdate> StreamAsync(HttpRequestMessage message, ProviderCredential credential, string project,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var token = await tokens.GetTokenAsync(credential, Name, cancellationToken).ConfigureAwait(false);
        message.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        message.Headers.Add("x-goog-user-project", project);
        await foreach (var update in SseChatStream.StreamAsync(client, message, GoogleStream.Dialect, new GoogleStreamContext(Name), cancellationToken).ConfigureAwait(false))
            yield return update;
    }

    /// <summary>A token exchange for the service account, then <c>GET …/endpoints?pageSize=1</c> in its project and region.</summary>
    public async Task VerifyAsync(ProviderCredential credential, CancellationToken cancellationToken)
    {
        var project = Segment(credential, "project_id");
        var region = Segment(credential, "region");
        var token = await tokens.GetTokenAsync(credential, Name, cancellationToken).ConfigureAwait(false);
        var message = new HttpRequestMessage(HttpMethod.Get, new Uri($"{BaseFor(region)}/projects/{project}/locations/{region}/endpoints?pageSize=1"));
        message.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        await ProviderHttp.VerifyAsync(client, message, Name, GoogleWire.DescribeError, cancellationToken).ConfigureAwait(false);
    }

    private string BaseFor(string region) => BaseFor(_baseTemplate, region);

    /// <summary>The API base for <paramref name="region"/> (<c>global</c> has no regional host).</summary>
    internal static string BaseFor(string template, string region) => region == "global"
        ? template.Replace("{region}-", "", StringComparison.Ordinal)
        : template.Replace("{region}", region, StringComparison.Ordinal);

    /// <summary>Project and region go into the URL (the region into the host) and a header: only plain ids are accepted.</summary>
    internal static string Segment(ProviderCredential credential, string key)
    {
        var value = credential.Require(key);
        return SafeSegment().IsMatch(value) ? value : throw new ChatRequestException($"credential.value.{key} must be a plain id (lower-case letters, digits, '-')");
    }

    // \z, not $: '$' also matches before a final '\n', which would let "us-central1\n" through.
    [GeneratedRegex(@"\A[a-z0-9][a-z0-9-]{0,62}\z")]
    private static partial Regex SafeSegment();
}
