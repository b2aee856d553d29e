using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;

namespace IntegrationApi.Testing;

/// <summary>
/// A loopback Vertex AI (https://cloud.google.com/vertex-ai/generative-ai/docs/model-reference/inference): Gemini on <c>/v1/projects/{p}/locations/{r}/publishers/google/models/{m}</c>,
/// <c>Authorization: Bearer</c> OAuth tokens, compact JSON, usage counts only on the last chunk, plus an OAuth2
/// token endpoint (<c>POST /token</c>, JWT-bearer grant) that issues tokens to the service account
/// <c>{ValidKey}@…</c> and counts the exchanges.
/// </summary>
public sealed class VertexAIFake : GeminiFake
{
    private int _tokenCount;

    public static new async Task<VertexAIFake> StartNewAsync(int port = 0)
    {
        var fake = new VertexAIFake();
        await fake.StartAsync(port).ConfigureAwait(false);
        return fake;
    }

    /// <summary>The token endpoint to put in a service account's <c>token_uri</c>.</summary>
    public string TokenUri => BaseUrl[..^BasePath.Length] + "/token";

    /// <summary>How many token exchanges were made.</summary>
    public int TokenExchanges => Volatile.Read(ref _tokenCount);

    /// <summary>The service-account email the fake accepts for <paramref name="key"/>.</summary>
    public static string ClientEmail(string key) => $"{key}@test-project.iam.gserviceaccount.com";

    protected override string BasePath => "/v1";

    protected override string LineEnd => "\n";

    protected override bool SpacedJson => false;

    protected override bool IsChatPath(RecordedRequest request) =>
        request.Path.StartsWith("/v1/projects/", StringComparison.Ordinal)
        && request.Path.Contains("/publishers/google/models/", StringComparison.Ordinal)
        && (request.Path.EndsWith(":streamGenerateContent", StringComparison.Ordinal) || request.Path.EndsWith(":generateContent", StringComparison.Ordinal));

    protected override (string Method, string Path) VerifyRoute => ("GET", "/v1/projects/test-project/locations/us-central1/endpoints");

    protected override (int Status, string Body)? CheckCredential(RecordedRequest request) =>
        request.Header("authorization") == "Bearer " + Token(ValidKey) ? null
            : (401, Error(401, "UNAUTHENTICATED", "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential."));

    protected override JsonObject ChunkUsage(FakeScript s, int outputSoFar, bool last) =>
        last ? WithTraffic(Usage(s, outputSoFar)) : new JsonObject { ["trafficType"] = "ON_DEMAND" };

    protected override void Decorate(JsonObject response) => response["createTime"] = "2025-11-20T10:15:30.123456Z";

    protected override async Task<bool> TryHandleSideRouteAsync(HttpContext context)
    {
        if (context.Request.Path != "/token") return false;
        var form = await context.Request.ReadFormAsync(context.RequestAborted).ConfigureAwait(false);
        Interlocked.Increment(ref _tokenCount);
        var assertion = form["assertion"].ToString();
        var email = ReadIssuer(assertion);
        context.Response.ContentType = "application/json";
        if (form["grant_type"] != "urn:ietf:params:oauth:grant-type:jwt-bearer" || email != ClientEmail(ValidKey))
        {
            context.Response.StatusCode = 400;
            await context.Response.WriteAsync("""{"error":"invalid_grant","error_description":"Invalid JWT Signature."}""").ConfigureAwait(false);
            return true;
        }
        await context.Response.WriteAsync(new JsonObject
        {
            ["access_token"] = Token(ValidKey), ["expires_in"] = 3599, ["token_type"] = "Bearer",
        }.ToJsonString()).ConfigureAwait(false);
        return true;
    }

    private static string Token(string key) => "ya29.fake-" + key;

    private static string? ReadIssuer(string jwt)
    {
        var parts = jwt.Split('.');
        if (parts.Length != 3) return null;
        try
        {
            using var payload = JsonDocument.Parse(System.Buffers.Text.Base64Url.DecodeFromChars(parts[1]));
            return payload.RootElement.TryGetProperty("iss", out var iss) ? iss.GetString() : null;
        }
        catch (Exception ex) when (ex is JsonException or FormatException) { return null; }
    }

    private static JsonObject WithTraffic(JsonObject usage)
    {
        usage["trafficType"] = "ON_DEMAND";
        return usage;
    }

    /// <summary>A service-account JSON key for <paramref name="key"/> whose token_uri is this fake.</summary>
    public string ServiceAccountJson(string key, string privateKeyPem) => new JsonObject
    {
        ["type"] = "service_account",
        ["project_id"] = "test-project",
        ["private_key_id"] = "0123456789abcdef",
        ["private_key"] = privateKeyPem,
        ["client_email"] = ClientEmail(key),
        ["client_id"] = "1234567890",
        ["token_uri"] = TokenUri,
    }.ToJsonString();

    /// <summary>Text-embedding models' <c>:predict</c>.</summary>
    protected override FakeOperation? OperationFor(RecordedRequest request) => GeminiEmbedFake.ForVertex(request);
}
