using IntegrationApi.Tests.Infrastructure;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace IntegrationApi.Tests.Functional;

/// <summary>A wrong setting stops the service at start with a message naming it.</summary>
public sealed class ConfigurationTests
{
    [Theory]
    [InlineData("Engine:MaxConcurrentRequestsPerStream", "0", "MaxConcurrentRequestsPerStream")]
    [InlineData("Providers:OpenAI:BaseUrl", "not a url", "BaseUrl")]
    [InlineData("Auth:ApiKeys:0:Sha256", "abc", "Auth:ApiKeys")]
    [InlineData("Server:MaxReceiveMessageSize", "10", "MaxReceiveMessageSize")]
    [InlineData("Audit:Store", "mysql", "Audit.Store")]
    public void WrongValue_StopsStartNamingTheSetting(string key, string value, string named)
    {
        var error = StartFails(new() { [key] = value });
        Assert.Contains(named, error.Message);
    }

    /// <summary>Durations and counts out of their range: refused at start (before, a zero idle timeout started and then failed every request with 504).</summary>
    [Theory]
    [InlineData("Engine:IdleTimeout", "00:00:00", "Engine.IdleTimeout")]
    [InlineData("Engine:IdleTimeout", "2.00:00:00", "Engine.IdleTimeout")]
    [InlineData("Engine:TimeToFirstTokenTimeout", "00:00:00", "Engine.TimeToFirstTokenTimeout")]
    [InlineData("Engine:TotalTimeout", "-00:00:01", "Engine.TotalTimeout")]
    [InlineData("Engine:DrainTimeout", "-00:00:01", "Engine.DrainTimeout")]
    [InlineData("Engine:RetryBaseDelay", "00:00:00", "Engine.RetryBaseDelay")]
    [InlineData("Engine:MaxRetryDelay", "-00:00:01", "Engine.MaxRetryDelay")]
    [InlineData("Engine:MaxStreamAge", "00:00:00", "Engine.MaxStreamAge")]
    [InlineData("Engine:MaxRetries", "-1", "Engine.MaxRetries")]
    [InlineData("Auth:RevocationCheckInterval", "00:00:00", "Auth.RevocationCheckInterval")]
    [InlineData("Auth:ClockSkew", "-00:00:01", "Auth.ClockSkew")]
    [InlineData("Audit:FlushInterval", "-00:00:00.100", "Audit.FlushInterval")]
    [InlineData("Audit:SpoolAfter", "-00:00:01", "Audit.SpoolAfter")]
    [InlineData("Audit:MaxRetryDelay", "00:00:00", "Audit.MaxRetryDelay")]
    [InlineData("Audit:BatchSize", "0", "Audit.BatchSize")]
    [InlineData("Server:KeepAlivePingDelay", "00:00:00", "Server.KeepAlivePingDelay")]
    [InlineData("Server:KeepAlivePingTimeout", "-00:00:01", "Server.KeepAlivePingTimeout")]
    [InlineData("Providers:MaxLineBytes", "1024", "Providers.MaxLineBytes")]
    [InlineData("Providers:OpenAI:PooledConnectionLifetime", "00:00:00", "PooledConnectionLifetime")]
    [InlineData("Providers:Anthropic:PooledConnectionIdleTimeout", "-00:00:01", "PooledConnectionIdleTimeout")]
    public void OutOfRange_StopsStartNamingTheSetting(string key, string value, string named)
    {
        var error = StartFails(new() { [key] = value });
        Assert.Contains(named, error.Message);
        Assert.Contains("must be between", error.Message);
    }

    [Theory]
    [InlineData("Audit:Store", "postgres", "Audit:PostgresConnectionString is required when Audit:Store is postgres")]
    [InlineData("Providers:MaxResponseBytes", "1048576", "Providers:MaxLineBytes must not exceed Providers:MaxResponseBytes")] // 4 MiB lines by default
    public void RuleBetweenSettings_StopsStartWithItsMessage(string key, string value, string message)
    {
        var error = StartFails(new() { [key] = value });
        Assert.Contains(message, error.Message);
    }

    /// <summary>Where 0 means "none" (no clock skew, no gathering of audit records, spool at the first refusal), it is allowed.</summary>
    [Fact]
    public async Task ZeroWhereItMeansNone_Starts()
    {
        await using var gateway = await TestGateway.StartAsync(new Dictionary<string, string?>
        {
            ["Auth:ClockSkew"] = "00:00:00", ["Audit:FlushInterval"] = "00:00:00", ["Audit:SpoolAfter"] = "00:00:00",
            ["Engine:MaxQueuedRequestsPerStream"] = "0", ["Engine:RequestsPerSecondPerStream"] = "0", ["Engine:MaxConcurrentRequestsPerPrincipal"] = "0",
        });
        Assert.True((await gateway.ChatAsync("openai", gateway.NewChat("openai", "hi"))).Success);
    }

    [Fact]
    public void IncompleteApiKeyEntry_StopsStart()
    {
        var error = StartFails(new() { ["Auth:ApiKeys:0:ProjectId"] = "8" }); // no Sha256, no OrganizationId
        Assert.Contains("Auth:ApiKeys", error.Message);
    }

    /// <summary>
    /// Builds the service (the shipped appsettings.json plus <paramref name="settings"/>) and returns why it refused to
    /// start. Nothing is started and no configuration file is watched, so a refused start leaves nothing behind.
    /// </summary>
    private static OptionsValidationException StartFails(Dictionary<string, string?> settings) =>
        Assert.ThrowsAny<OptionsValidationException>(() => IntegrationApiApp.Create(["--environment", "Testing", "--hostBuilder:reloadConfigOnChange=false"], builder =>
        {
            builder.Configuration.AddInMemoryCollection(settings);
            builder.Logging.ClearProviders();
        }));
}
