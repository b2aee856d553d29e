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

    public const string Usage = """
        integration-cli: send prompts over one StreamChat and print the answers as they stream.

        usage: integration-cli [options] [prompt ...]      (no prompts: one prompt per stdin line)
          --address URL        service address (INTEGRATION_API_ADDRESS, default http://127.0.0.1:9004)
          --provider NAME      openai, anthropic, ... (INTEGRATION_API_PROVIDER, default openai)
          --model NAME         model.name (INTEGRATION_API_MODEL; default per provider)
          --key KEY            the provider credential sent in each request (PROVIDER_KEY)
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
                "--wait" => o with { Wait = TimeSpan.FromSeconds(double.Parse(Next(), global::System.Globalization.CultureInfo.InvariantCulture)) },
                "-h" or "--help" => throw new ArgumentException(""),
                var s when s.StartsWith("--", StringComparison.Ordinal) => throw new ArgumentException($"unknown option {s}"),
                var prompt => Add(o, prompt),
            };
        }
        return o;
    }

    private static CliOptions Add(CliOptions o, string prompt)
    {
        o.Prompts.Add(prompt);
        return o;
    }

    private static string? Env(string name) => Environment.GetEnvironmentVariable(name) is { Length: > 0 } v ? v : null;
}
