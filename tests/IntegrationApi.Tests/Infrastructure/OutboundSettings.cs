using IntegrationApi.Testing;

namespace IntegrationApi.Tests.Infrastructure;

/// <summary>Gateway settings for the outbound-request tests.</summary>
public static class OutboundSettings
{
    /// <summary>Small answer caps, so a test reaches them in a few milliseconds.</summary>
    public const int MaxResponseBytes = 1024 * 1024, MaxLineBytes = 256 * 1024;

    /// <summary>
    /// Settings that send Vertex token exchanges to <paramref name="tokens"/> (any <see cref="VertexAIFake"/> mints tokens
    /// the gateway's Vertex fake accepts): the service uses only its configured token endpoint, never a key's token_uri.
    /// </summary>
    public static Dictionary<string, string?> WithTokenEndpoint(VertexAIFake tokens, bool smallCaps = false)
    {
        var settings = new Dictionary<string, string?> { ["Providers:VertexAI:TokenUri"] = tokens.TokenUri };
        if (smallCaps)
        {
            settings["Providers:MaxResponseBytes"] = MaxResponseBytes.ToString(System.Globalization.CultureInfo.InvariantCulture);
            settings["Providers:MaxLineBytes"] = MaxLineBytes.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }
        return settings;
    }
}
