using System.Globalization;
using Google.Protobuf.WellKnownTypes;
using IntegrationApi.Client;
using IntegrationApi.Contracts;

namespace IntegrationApi.Cli;

/// <summary>Settings shared by every command; each flag also has an environment variable where noted.</summary>
internal sealed record CliOptions
{
    public string Address { get; init; } = "http://127.0.0.1:9004";
    public string Provider { get; init; } = "openai";
    public string? Model { get; init; }
    public string? ProviderKey { get; init; }
    public string? ApiKey { get; init; }
    public string? Jwt { get; init; }
    public string? System { get; init; }
    public bool Concurrent { get; init; }
    public bool Interactive { get; init; }
    public TimeSpan Wait { get; init; }
    public double? Temperature { get; init; }
    public int? MaxTokens { get; init; }
    public List<string> Prompts { get; init; } = [];
    /// <summary>Fallback targets in order (<c>--fallback provider:model</c>); a null provider is <see cref="Provider"/>.</summary>
    public List<ChatTargetSpec> Fallbacks { get; init; } = [];
    /// <summary>Provider credentials by provider name (<c>--key-for provider=KEY</c>), for fallbacks on other providers.</summary>
    public Dictionary<string, string> KeysFor { get; init; } = new(StringComparer.OrdinalIgnoreCase);
    /// <summary>Extra credential fields (<c>--cred name=value</c>, <c>@file</c> reads the value from a file).</summary>
    public Dictionary<string, string> CredentialFields { get; init; } = new(StringComparer.Ordinal);
    public uint HedgeMs { get; init; }

    /// <summary>The key the request sends: <c>--key</c>, else <c>--key-for</c> of <see cref="Provider"/>.</summary>
    public string? RequestKey => ProviderKey ?? (KeysFor.TryGetValue(Provider, out var key) ? key : null);

    /// <summary>The request's credential: <c>key</c> (when given or when nothing else is) plus every <c>--cred</c> field.</summary>
    public Credential Credential()
    {
        var value = new Struct();
        if (RequestKey is { } key || CredentialFields.Count == 0) value.Fields["key"] = Value.ForString(RequestKey ?? "");
        foreach (var (name, v) in CredentialFields) value.Fields[name] = Value.ForString(v);
        return new Credential { Value = value };
    }

    /// <summary>The key a fallback sends: <c>--key-for</c> of its provider when that is another provider; null (the request's) otherwise.</summary>
    public string? FallbackKey(ChatTargetSpec target) =>
        target.Provider is { } p && !p.Equals(Provider, StringComparison.OrdinalIgnoreCase) && KeysFor.TryGetValue(p, out var key) ? key : null;

    /// <summary>Splits <c>NAME=VALUE</c>; <c>@path</c> as the value reads the file (e.g. a service-account JSON).</summary>
    public static (string Name, string Value) NameValue(string option, string text, bool allowFile)
    {
        var equals = text.IndexOf('=', StringComparison.Ordinal);
        // Never echo the text: it is likely a secret given without its name.
        if (equals <= 0) throw new CliUsageException($"{option} needs NAME=VALUE (no name before an '=' in the value given)");
        var (name, value) = (text[..equals].Trim(), text[(equals + 1)..]);
        if (allowFile && value.StartsWith('@'))
        {
            try { value = File.ReadAllText(value[1..]); }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException) { throw new CliUsageException($"{option} {name}: cannot read {value[1..]}: {ex.Message}"); }
        }
        return (name, value);
    }

    public static string? Env(string name) => Environment.GetEnvironmentVariable(name) is { Length: > 0 } v ? v : null;

    public static string DefaultModel(string provider) => provider.ToLowerInvariant() switch
    {
        "anthropic" => "claude-sonnet-4-5",
        "gemini" or "vertexai" => "gemini-2.5-flash",
        "mistral" => "mistral-small-latest",
        "cohere" => "command-a-03-2025",
        "replicate" => "meta/meta-llama-3-8b-instruct",
        _ => "gpt-4o-mini",
    };

    public static string Invariant(double d) => d.ToString(CultureInfo.InvariantCulture);
}

/// <summary>A command line that does not make sense (exit code 2).</summary>
internal sealed class CliUsageException(string message) : Exception(message);
