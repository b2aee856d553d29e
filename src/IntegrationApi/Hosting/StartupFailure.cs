using System.Security.Cryptography;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Options;

namespace IntegrationApi.Hosting;

/// <summary>
/// Turns whatever stopped the start into the one line the operator reads on stderr: the setting or resource at fault
/// and what to do. No stack trace: the cause is named, and the rest is noise to someone running the binary.
/// </summary>
public static class StartupFailure
{
    private const string HowToSet = "set it in appsettings.json next to the binary, as an environment variable (Section__Key) or on the command line (--Section:Key=value)";

    /// <summary>The line for <paramref name="error"/>; <paramref name="configuration"/> (when the host was built) names Kestrel endpoints.</summary>
    public static string Describe(Exception error, IConfiguration? configuration = null)
    {
        try
        {
            return "IntegrationApi: " + Flatten(Line(error, configuration));
        }
        catch (Exception unexpected) // never a crash while reporting one
        {
            return $"IntegrationApi: start-up failed: {Flatten(FirstLine(error.Message))} ({error.GetType().Name}; {unexpected.GetType().Name} while describing it)";
        }
    }

    /// <summary>False for a failure that no rule names (the line then says only "start-up failed"): a bug, not a setting.</summary>
    public static bool IsRecognised(Exception error)
    {
        try { return !Line(error, null).StartsWith(Unrecognised, StringComparison.Ordinal); }
        catch (Exception) { return false; }
    }

    private const string Unrecognised = "start-up failed: ";

    private static string Line(Exception error, IConfiguration? configuration)
    {
        return error switch
        {
            StartupException e => e.Message,
            OptionsValidationException e => $"invalid setting: {string.Join("; ", e.Failures)}; {HowToSet}",
            _ when Find<AddressInUseException>(error) is not null => AddressInUse(error, configuration),
            _ when Find<CryptographicException>(error) is { } e => $"TLS certificate (Kestrel:Certificates:Default or Kestrel:Endpoints:NAME:Certificate) cannot be loaded: {e.Message}; check its Path, Password or KeyPath",
            InvalidOperationException e when e.Message.Contains("certificate", StringComparison.OrdinalIgnoreCase) =>
                $"TLS certificate: {e.Message}; set Kestrel:Certificates:Default:Path (and :Password or :KeyPath), or serve plain HTTP/2 (http://) behind a TLS-terminating load balancer",
            FileNotFoundException e when (e.StackTrace ?? "").Contains("Certificate", StringComparison.Ordinal) =>
                $"TLS certificate file not found: {e.FileName ?? e.Message}; check Kestrel:Certificates:Default:Path (or the endpoint's Certificate:Path, and KeyPath for PEM)",
            InvalidOperationException e when e.Message.StartsWith("Failed to convert configuration value", StringComparison.Ordinal) || e.Message.StartsWith("Cannot create instance of type", StringComparison.Ordinal) =>
                $"invalid setting: {FirstLine(e.Message)} {FirstLine(e.InnerException?.Message)}; {HowToSet}",
            FormatException e when e.Message.StartsWith("Invalid url", StringComparison.Ordinal) =>
                $"invalid setting {EndpointSetting(configuration, e.Message)}: {e.Message}; an endpoint Url takes the form http://HOST:PORT (h2c) or https://HOST:PORT, e.g. http://0.0.0.0:9004",
            _ when Find<Npgsql.NpgsqlException>(error) is { } e => $"PostgreSQL (Audit:PostgresConnectionString) cannot be used: {FirstLine(e.Message)}; start it or fix the connection string",
            _ when Find<Microsoft.Data.Sqlite.SqliteException>(error) is { } e => $"SQLite file (Audit:SqlitePath or Auth:KeyStorePath) cannot be used: {FirstLine(e.Message)}; check the path and that the service's user may write to its folder",
            UnauthorizedAccessException or IOException => $"{FirstLine(error.Message)}; check the path in the settings and that the service's user may write to it",
            _ => $"{Unrecognised}{FirstLine(error.Message)} ({error.GetType().Name}{(error.InnerException is { } inner ? ": " + FirstLine(inner.Message) : "")})",
        };
    }

    /// <summary>The settings <see cref="Describe"/> reads (the Kestrel endpoints), copied: they outlive the host.</summary>
    public static IConfiguration Snapshot(IConfiguration configuration) =>
        new ConfigurationBuilder().AddInMemoryCollection(configuration.GetSection("Kestrel").AsEnumerable()).Build();

    private static string AddressInUse(Exception error, IConfiguration? configuration)
    {
        // Kestrel: "Failed to bind to address http://127.0.0.1:9004: address already in use."
        var message = FirstLine(error.Message);
        const string Prefix = "Failed to bind to address ";
        var address = message.StartsWith(Prefix, StringComparison.Ordinal) ? message[Prefix.Length..].Split(": ", 2)[0] : null;
        var setting = EndpointSetting(configuration, address);
        return $"cannot listen on {address ?? "the configured address"}: the port is already in use; stop the other process or give {setting} another port";
    }

    /// <summary>The Kestrel endpoint setting whose Url is <paramref name="address"/> (or appears in it).</summary>
    private static string EndpointSetting(IConfiguration? configuration, string? address)
    {
        if (address is not null && configuration is not null)
            foreach (var endpoint in configuration.GetSection("Kestrel:Endpoints").GetChildren())
                if (endpoint["Url"] is { Length: > 0 } url && (SameAddress(url, address) || address.Contains($"'{url}'", StringComparison.Ordinal)))
                    return $"Kestrel:Endpoints:{endpoint.Key}:Url (Kestrel__Endpoints__{endpoint.Key}__Url)";
        return "Kestrel:Endpoints:NAME:Url";
    }

    private static bool SameAddress(string? url, string address)
    {
        if (url is null) return false;
        if (string.Equals(url.TrimEnd('/'), address.TrimEnd('/'), StringComparison.OrdinalIgnoreCase)) return true;
        // http://0.0.0.0:9004, http://*:9004, http://+:9004 are reported as the address Kestrel tried (e.g. http://[::]:9004).
        return Uri.TryCreate(address.Replace("[::]", "localhost", StringComparison.Ordinal), UriKind.Absolute, out var a)
            && Uri.TryCreate(url.Replace("*", "localhost", StringComparison.Ordinal).Replace("+", "localhost", StringComparison.Ordinal), UriKind.Absolute, out var u)
            && a.Port == u.Port && a.Scheme == u.Scheme;
    }

    private static T? Find<T>(Exception? error) where T : Exception
    {
        for (; error is not null; error = error.InnerException)
        {
            if (error is T found) return found;
            if (error is AggregateException { InnerExceptions.Count: > 0 } aggregate) return aggregate.InnerExceptions.Select(Find<T>).FirstOrDefault(e => e is not null);
        }
        return null;
    }

    private static string FirstLine(string? text) => text is null ? "" : text.Split('\n', 2)[0].Trim();

    private static string Flatten(string line) => line.Replace('\r', ' ').Replace('\n', ' ');
}
