using IntegrationApi.Chat;
using IntegrationApi.Providers;

namespace IntegrationApi.Tests.Unit;

/// <summary>Caller input in a provider URL is exactly one escaped path segment.</summary>
public sealed class UrlSegmentTests
{
    [Theory]
    [InlineData("gpt-4o-mini", "gpt-4o-mini")]
    [InlineData("gemini-2.5-flash", "gemini-2.5-flash")]
    [InlineData("...", "...")]
    [InlineData("a/../b", "a%2F..%2Fb")]
    [InlineData("../x", "..%2Fx")]
    [InlineData("%2E%2E", "%252E%252E")]
    [InlineData("a b?c#d", "a%20b%3Fc%23d")]
    public void PlainOrEscaped_OneSegment(string value, string expected) =>
        Assert.Equal(expected, UrlSegment.Escape(value, "model.name"));

    [Theory]
    [InlineData("")]
    [InlineData(".")]
    [InlineData("..")]
    [InlineData("gpt\n")]
    [InlineData("gpt\r\nx")]
    [InlineData("a\0b")]
    [InlineData("a\u007fb")]
    [InlineData("\t")]
    public void DotSegmentsEmptyOrControl_400NamingTheField(string value)
    {
        var ex = Assert.Throws<ChatRequestException>(() => UrlSegment.Escape(value, "modelParameters[\"model.name\"]"));
        Assert.Contains("modelParameters[\"model.name\"]", ex.Message);
    }

    // .NET's Uri decodes %2E to '.' and then removes dot segments, so dots cannot be made safe by escaping them:
    // "." and ".." are refused, and a '%' in caller input is escaped (%25) so it cannot spell %2E.
    [Theory]
    [InlineData("models/%2E%2E/x", "/v1/x")]
    [InlineData("models/%2e%2e/x", "/v1/x")]
    [InlineData("models/%2E/x", "/v1/models/x")]
    [InlineData("deployments/..%2Fx/chat", "/v1/deployments/..%2Fx/chat")] // %2F stays: one segment
    public void Uri_DecodesEncodedDotSegments(string relative, string expectedPath) =>
        Assert.Equal(expectedPath, new Uri(new Uri("https://api.example.com/v1/"), relative).AbsolutePath);

    [Theory]
    [InlineData("%2E%2E")]
    [InlineData("%2e%2E")]
    [InlineData(".%2E")]
    [InlineData("..%2F..")]
    [InlineData("../..")]
    public void EscapedCallerInput_StaysOneSegmentInAUri(string value)
    {
        var uri = new Uri(new Uri("https://api.example.com/v1/"), $"models/{UrlSegment.Escape(value, "model.name")}:streamGenerateContent");
        Assert.StartsWith("/v1/models/", uri.AbsolutePath);
        Assert.Equal(3, uri.Segments.Length - 1);
        Assert.Equal(value, Uri.UnescapeDataString(uri.Segments[3][..^":streamGenerateContent".Length]));
    }
}
