using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace IntegrationApi.Scaling;

/// <summary>What the per-principal limits do while Redis cannot be reached.</summary>
public enum RedisUnavailableMode
{
    /// <summary>Fail open to this instance's own limits (the same numbers, counted per instance), with an error log and a metric.</summary>
    LocalLimits,

    /// <summary>Fail closed: every request gets a 503 until Redis answers again.</summary>
    Refuse,
}

/// <summary>The Redis shared by every instance (<c>Redis</c> section; docs/scaling.md). Off unless <see cref="Configuration"/> is set.</summary>
public sealed class RedisOptions
{
    /// <summary>A StackExchange.Redis configuration string (<c>host:port,password=…,ssl=true</c>); empty keeps every limit in-process.</summary>
    public string Configuration { get; set; } = "";

    /// <summary>Prefix of every key and channel, so several deployments can share one Redis.</summary>
    [Required, MinLength(1)] public string KeyPrefix { get; set; } = "integration-api:";

    /// <summary>A concurrency lease not renewed for this long is dropped (an instance that died frees its slots within it); renewed every third of it.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00")] public TimeSpan LeaseTtl { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Longest wait for one Redis command; past it the request is decided as when Redis is unreachable.</summary>
    [Range(typeof(TimeSpan), "00:00:00.050", "00:01:00")] public TimeSpan OperationTimeout { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>What the limits do while Redis is unreachable.</summary>
    public RedisUnavailableMode WhenUnavailable { get; set; } = RedisUnavailableMode.LocalLimits;

    /// <summary>
    /// With Redis and <c>Engine:MachineId</c> left at 0, each instance leases a free machine id (1–1023) in Redis at start
    /// and renews it, so that instances sharing an audit store never mint the same request id (docs/scaling.md).
    /// </summary>
    public bool LeaseMachineId { get; set; } = true;

    /// <summary>A leased machine id not renewed for this long is free again (renewed every third of it).</summary>
    [Range(typeof(TimeSpan), "00:00:03", "1.00:00:00")] public TimeSpan MachineIdTtl { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>True when a Redis is configured.</summary>
    public bool Enabled => !string.IsNullOrWhiteSpace(Configuration);
}

/// <summary>Checks <see cref="RedisOptions"/> at start (generated from its attributes).</summary>
[OptionsValidator]
internal sealed partial class RedisOptionsValidator : IValidateOptions<RedisOptions>;

/// <summary>Checks that <see cref="RedisOptions.Configuration"/> parses, at start rather than on the first request.</summary>
internal sealed class RedisConfigurationValidator : IValidateOptions<RedisOptions>
{
    public ValidateOptionsResult Validate(string? name, RedisOptions options)
    {
        if (!options.Enabled) return ValidateOptionsResult.Success;
        try
        {
            StackExchange.Redis.ConfigurationOptions.Parse(options.Configuration);
            return ValidateOptionsResult.Success;
        }
        catch (Exception e) when (e is ArgumentException or FormatException or NotSupportedException)
        {
            // The message names the bad option, never the string (it may hold a password).
            return ValidateOptionsResult.Fail($"Redis:Configuration is not a valid StackExchange.Redis configuration: {e.Message.Split('\n')[0]}");
        }
    }
}
