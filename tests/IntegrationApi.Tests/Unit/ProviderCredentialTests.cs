using IntegrationApi.Chat;

namespace IntegrationApi.Tests.Unit;

/// <summary>Credential values: only sendable ones reach headers, and error texts are redacted before they are cut.</summary>
public sealed class ProviderCredentialTests
{
    private static ProviderCredential With(params (string Key, string Value)[] values) =>
        new(1, values.ToDictionary(v => v.Key, v => v.Value));

    [Theory]
    [InlineData("sk-abc\r\nX-Injected: 1")]
    [InlineData("sk-abc\n")]
    [InlineData("sk\0abc")]
    [InlineData("sk-\u007f")]
    [InlineData("sk-clé")]
    [InlineData("sk-\u2028")]
    public void Require_ControlOrNonAscii_400NamingTheKey(string value)
    {
        var credential = With(("key", value), ("organization", value));
        Assert.Equal("credential.value.key contains characters that cannot be sent (control or non-ASCII)",
            Assert.Throws<ChatRequestException>(() => credential.Require("key")).Message);
        Assert.Contains("credential.value.organization", Assert.Throws<ChatRequestException>(() => credential.Optional("organization")).Message);
    }

    [Fact]
    public void RequireText_KeepsNewlines_RequireAndOptionalPassPlainValues()
    {
        var credential = With(("service_account_key", "{\n\"private_key\": \"-----BEGIN…\"\n}"), ("key", "sk-proj-AZ09_-.~+/= x"));
        Assert.Contains('\n', credential.RequireText("service_account_key"));
        Assert.Equal("sk-proj-AZ09_-.~+/= x", credential.Require("key"));
        Assert.Null(credential.Optional("organization"));
        Assert.Contains("required", Assert.Throws<ChatRequestException>(() => credential.RequireText("missing")).Message);
    }

    [Fact]
    public void RedactAndTruncate_SecretAcrossTheCut_GoneEntirely()
    {
        const string secret = "5bd8f0e2a1c94e77-secret";
        var credential = With(("key", secret));
        var text = new string('x', 1015) + secret + " more";
        var result = credential.RedactAndTruncate(text);
        Assert.DoesNotContain("5bd8", result);
        Assert.Equal(new string('x', 1015) + "[redacted…", result);
        Assert.Equal("short", credential.RedactAndTruncate("short"));
    }

    [Fact]
    public void RedactAndTruncate_NeverSplitsASurrogatePair()
    {
        var result = With(("key", "irrelevant")).RedactAndTruncate(new string('a', 9) + "😀tail", 10);
        Assert.Equal(new string('a', 9) + "…", result);
    }

    [Theory]
    [InlineData("invalid key ab\\/cd\\u002Bef\\/0123456789")]  // JSON with escaped '/' and '+'
    [InlineData("invalid key ab\\/cd\\u002bef\\/0123456789")]  // lower-case hex
    [InlineData("invalid key ab/cd\\u002Bef/0123456789")]     // System.Text.Json's default escaping
    [InlineData("invalid key ab%2Fcd%2Bef%2F0123456789")]     // percent-encoded
    [InlineData("invalid key ab%2fcd%2bef%2f0123456789")]
    [InlineData("invalid key ab/cd+ef/0123456789")]           // as is
    public void Redact_EncodedForms(string text)
    {
        var result = With(("key", "ab/cd+ef/0123456789")).Redact(text);
        Assert.Equal("invalid key [redacted]", result);
    }

    [Fact]
    public void Redact_LongerValueFirst_ShortValuesLeftAlone()
    {
        var credential = With(("key", "abcd"), ("project", "abcd-and-more"), ("region", "eu"));
        Assert.Equal("[redacted] [redacted] eu", credential.Redact("abcd-and-more abcd eu"));
    }
}
