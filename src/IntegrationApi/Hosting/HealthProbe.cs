namespace IntegrationApi.Hosting;

/// <summary>
/// <c>IntegrationApi health [--url URL]</c>: asks a running service's <c>/healthz</c> and exits 0 when it answers 2xx,
/// else 1 with one line. For container health checks in images without curl (Dockerfile <c>HEALTHCHECK</c>). The
/// default URL is the HTTP endpoint of the same settings the service reads (<c>Kestrel:Endpoints:Http:Url</c>), with a
/// wildcard host asked on loopback.
/// </summary>
public static class HealthProbe
{
    public static async Task<int> RunAsync(IReadOnlyList<string> args, TextWriter output, TextWriter error)
    {
        var url = args.SkipWhile(a => a != "--url").Skip(1).FirstOrDefault() ?? DefaultUrl(args);
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(3) };
        try
        {
            using var response = await http.GetAsync(url).ConfigureAwait(false);
            if (response.IsSuccessStatusCode)
            {
                await output.WriteLineAsync($"healthy: {url}").ConfigureAwait(false);
                return 0;
            }
            await error.WriteLineAsync($"IntegrationApi: unhealthy: {url} answered {(int)response.StatusCode}").ConfigureAwait(false);
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or InvalidOperationException or UriFormatException)
        {
            await error.WriteLineAsync($"IntegrationApi: unhealthy: {url}: {e.Message}").ConfigureAwait(false);
        }
        return 1;
    }

    private static string DefaultUrl(IReadOnlyList<string> args)
    {
        var settings = new ConfigurationBuilder()
            .SetBasePath(AppContext.BaseDirectory)
            .AddJsonFile("appsettings.json", optional: true)
            .AddEnvironmentVariables()
            .AddCommandLine([.. args.Where(a => a.StartsWith("--", StringComparison.Ordinal) && a.Contains(':', StringComparison.Ordinal))])
            .Build();
        var endpoint = settings["Kestrel:Endpoints:Http:Url"] ?? "http://127.0.0.1:9005";
        if (!Uri.TryCreate(endpoint.Replace("://*", "://0.0.0.0", StringComparison.Ordinal).Replace("://+", "://0.0.0.0", StringComparison.Ordinal), UriKind.Absolute, out var uri))
            return endpoint.TrimEnd('/') + "/healthz";
        var host = uri.Host is "0.0.0.0" or "[::]" or "::" ? "127.0.0.1" : uri.Host;
        return new UriBuilder(uri) { Host = host, Path = "/healthz" }.Uri.ToString();
    }
}
