using Microsoft.Extensions.Configuration;

namespace IntegrationApi.Hosting;

/// <summary>How the host is built from the command line and the environment, before any configuration file is read.</summary>
internal static class HostArguments
{
    /// <summary>
    /// The builder options: the content root (where <c>appsettings*.json</c> and relative data paths are) is the folder
    /// of the binary, whatever the working folder, unless the operator names one (<c>--contentRoot</c>,
    /// <c>DOTNET_CONTENTROOT</c> or <c>ASPNETCORE_CONTENTROOT</c>).
    /// </summary>
    public static WebApplicationOptions BuilderOptions(string[] args) =>
        new() { Args = args, ContentRootPath = ContentRootGiven(args) ? null : AppContext.BaseDirectory };

    private static bool ContentRootGiven(string[] args)
    {
        var host = new ConfigurationBuilder()
            .AddEnvironmentVariables("DOTNET_")
            .AddEnvironmentVariables("ASPNETCORE_")
            .AddCommandLine(args)
            .Build();
        return !string.IsNullOrEmpty(host[HostDefaults.ContentRootKey]);
    }

    /// <summary>
    /// Splits the arguments after <c>keys</c> into the command's own (<c>create --org 1 …</c>) and configuration
    /// settings (<c>--Auth:KeyStorePath=…</c>, <c>--Audit:Store postgres</c>, <c>--environment Production</c>), which
    /// reach the same configuration sources as the service's.
    /// </summary>
    public static (string[] Command, string[] Configuration) SplitKeysArguments(IReadOnlyList<string> args)
    {
        List<string> command = [], configuration = [];
        for (var i = 0; i < args.Count; i++)
        {
            var arg = args[i];
            if (!IsSetting(arg)) { command.Add(arg); continue; }
            configuration.Add(arg);
            if (!arg.Contains('=', StringComparison.Ordinal) && i + 1 < args.Count) configuration.Add(args[++i]);
        }
        return ([.. command], [.. configuration]);
    }

    private static readonly string[] HostKeys = [HostDefaults.ContentRootKey, HostDefaults.EnvironmentKey, HostDefaults.ApplicationKey];

    private static bool IsSetting(string arg)
    {
        var key = arg.StartsWith("--", StringComparison.Ordinal) ? arg[2..] : arg.StartsWith('/') ? arg[1..] : null;
        if (key is null) return false;
        key = key.Split('=', 2)[0];
        return key.Contains(':', StringComparison.Ordinal) || HostKeys.Contains(key, StringComparer.OrdinalIgnoreCase);
    }
}
