using System.Reflection;

namespace IntegrationApi.Hosting;

/// <summary><c>--help</c> and <c>--version</c>: answered before anything is built, so they work without any configuration.</summary>
public static class CommandLineInfo
{
    /// <summary>The version the binary was built as (<c>InformationalVersion</c>: the version and, when known, the commit).</summary>
    public static string Version =>
        typeof(CommandLineInfo).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion
        ?? typeof(CommandLineInfo).Assembly.GetName().Version?.ToString() ?? "unknown";

    /// <summary>Writes the help or the version and returns exit code 0 when <paramref name="args"/> asks for one; else null.</summary>
    public static int? TryHandle(IReadOnlyList<string> args, TextWriter output)
    {
        if (args.Any(a => a is "--version"))
        {
            output.WriteLine($"IntegrationApi {Version}");
            return 0;
        }
        if (!args.Any(a => a is "--help" or "-h" or "-?" or "/?")) return null;
        output.Write(Help);
        return 0;
    }

    private const string Help = """
        IntegrationApi: the gRPC gateway to LLM providers.

        Usage:
          IntegrationApi [--Section:Key=value ...]        serve (gRPC over h2c on Kestrel:Endpoints:Grpc:Url,
                                                          /metrics /healthz /readiness on Kestrel:Endpoints:Http:Url)
          IntegrationApi keys create --org N --project N [--name TEXT] [--Section:Key=value ...]
          IntegrationApi keys list [--Section:Key=value ...]
          IntegrationApi keys revoke ID [--Section:Key=value ...]
                                                          manage stored project API keys, with the service's settings
          IntegrationApi health [--url URL]               exit 0 when the running service's /healthz answers
                                                          (default URL: Kestrel:Endpoints:Http:Url on loopback)
          IntegrationApi --help | --version

        Settings come from, later ones winning: appsettings.json and appsettings.{Environment}.json next to the binary,
        environment variables (Section__Key, e.g. Auth__JwtSecret), the command line (--Section:Key=value).
          --environment NAME       Production (default), Development, ... (or ASPNETCORE_ENVIRONMENT)
          --contentRoot DIR        read appsettings*.json and resolve relative data paths from DIR instead of the binary's folder
          Kestrel:Endpoints:Grpc:Url   gRPC listen address (default http://127.0.0.1:9004)
          Kestrel:Endpoints:Http:Url   metrics and health listen address (default http://127.0.0.1:9005)
          Auth:JwtSecret, Auth:ApiKeys, Auth:KeyStorePath   caller authentication (Production requires a JWT secret,
                                                    a configured key or an active stored key)
          Audit:Store (sqlite|postgres), Audit:PostgresConnectionString, Audit:SqlitePath   audit records and stored keys

        A start-up failure prints one line naming the setting or resource and exits with code 1.
        Every setting: README.md (Configuration); operating it: docs/operations.md.

        """;
}
