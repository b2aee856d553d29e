using IntegrationApi.Client;

namespace IntegrationApi.Cli;

/// <summary>Command-line settings; every flag also has an environment variable.</summary>
internal sealed record CliOptions
{
    public string Address { get; init; } = Env("INTEGRATION_API_ADDRESS") ?? "http://127.0.0.1:9004";
    public string Provider { get; init; } = Env("INTEGRATION_API_PROVIDER") ?? "openai";
    public string? Model { get; init; } = Env("INTEGRATION_API_MODEL");
    public string? ProviderKey { get; init; } = Env("PROVIDER_KEY");
    public string? ApiKey { get; init; } = Env("INTEGRATION_API_KEY");
    public string? Jwt { get; init; } = Env("INTEGRATION_API_JWT");
    public string? System { get; init; }
    public bool Concurrent { get; init; }
    public TimeSpan Wait { get; init; }
    public List<string> Prompts { get; } = [];
    /// <summary>Fallback targets in order (<c>--fallback provider:model</c>); a null provider is <see cref="Provider"/>.</summary>
    public List<ChatTargetSpec> Fallbacks { get; } = [];
    /// <summary>Provider credentials by provider name (<c>--key-for provider=KEY</c>), for fallbacks on other providers.</summary>
    public Dictionary<string, string> KeysFor { get; } = new(StringComparer.OrdinalIgnoreCase);
    public uint HedgeMs { get; init; }

    public const string Usage = """
        integration-cli: send prompts over one StreamChat and print the answers as they stream.

        usage: integration-cli [options] [prompt ...]      (no prompts: one prompt per stdin line)
          --address URL        service address (INTEGRATION_API_ADDRESS, default http://127.0.0.1:9004)
          --provider NAME      openai, anthropic, ... (INTEGRATION_API_PROVIDER, default openai)
          --model NAME         model.name (INTEGRATION_API_MODEL; default per provider)
          --key KEY            the provider credential sent in each request (PROVIDER_KEY)
          --key-for NAME=KEY   the credential of provider NAME, for --fallback targets on it (repeatable)
          --fallback P:MODEL   try provider P, model MODEL when the request fails before its first token
                               (repeatable, in order; ":MODEL" keeps --provider, "P:" takes P's default model);
                               it takes --key-for P's key when given, else the request's
          --hedge-ms N         no first token after N ms: start the next --fallback in parallel, first answer wins
          --api-key KEY        project API key for x-api-key (INTEGRATION_API_KEY)
          --jwt TOKEN          service token for x-internal-service-key (INTEGRATION_API_JWT)
          --system TEXT        a system prompt for every request
          --concurrent         send every prompt at once (they run concurrently, deltas interleave)
          --wait SECONDS       retry connecting this long while the service starts
        """;

    public static CliOptions Parse(string[] args)
    {
        var o = new CliOptions();
        for (var i = 0; i < args.Length; i++)
        {
            string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
            o = args[i] switch
            {
                "--address" => o with { Address = Next() },
                "--provider" => o with { Provider = Next() },
                "--model" => o with { Model = Next() },
                "--key" => o with { ProviderKey = Next() },
                "--api-key" => o with { ApiKey = Next() },
                "--jwt" => o with { Jwt = Next() },
                "--system" => o with { System = Next() },
                "--concurrent" => o with { Concurrent = true },
                "--key-for" => AddKey(o, Next()),
                "--fallback" => AddFallback(o, Next()),
                "--hedge-ms" => o with { HedgeMs = uint.TryParse(Next(), global::System.Globalization.NumberStyles.None, global::System.Globalization.CultureInfo.InvariantCulture, out var ms) ? ms : throw new ArgumentException("--hedge-ms needs a whole number of milliseconds") },
                "--wait" => o with { Wait = TimeSpan.FromSeconds(double.Parse(Next(), global::System.Globalization.CultureInfo.InvariantCulture)) },
                "-h" or "--help" => throw new ArgumentException(""),
                var s when s.StartsWith("--", StringComparison.Ordinal) => throw new ArgumentException($"unknown option {s}"),
                var prompt => Add(o, prompt),
            };
        }
        if (o.HedgeMs > 0 && o.Fallbacks.Count == 0) throw new ArgumentException("--hedge-ms needs at least one --fallback to hedge with");
        return o;
    }

    /// <summary>The key the request sends: <c>--key</c>, else <c>--key-for</c> of <see cref="Provider"/>.</summary>
    public string RequestKey => ProviderKey ?? (KeysFor.TryGetValue(Provider, out var key) ? key : "");

    /// <summary>The key a fallback sends: <c>--key-for</c> of its provider when that is another provider; null (the request's) otherwise.</summary>
    public string? FallbackKey(ChatTargetSpec target) =>
        target.Provider is { } p && !p.Equals(Provider, StringComparison.OrdinalIgnoreCase) && KeysFor.TryGetValue(p, out var key) ? key : null;

    private static CliOptions AddKey(CliOptions o, string value)
    {
        var equals = value.IndexOf('=', StringComparison.Ordinal);
        if (equals <= 0) throw new ArgumentException($"--key-for needs NAME=KEY, not \"{value}\"");
        o.KeysFor[value[..equals].Trim()] = value[(equals + 1)..];
        return o;
    }

    private static CliOptions AddFallback(CliOptions o, string value)
    {
        try { o.Fallbacks.Add(ChatTargetSpec.Parse(value)); }
        catch (FormatException ex) { throw new ArgumentException($"--fallback: {ex.Message}", ex); }
        return o;
    }

    private static CliOptions Add(CliOptions o, string prompt)
    {
        o.Prompts.Add(prompt);
        return o;
    }

    private static string? Env(string name) => Environment.GetEnvironmentVariable(name) is { Length: > 0 } v ? v : null;
}
