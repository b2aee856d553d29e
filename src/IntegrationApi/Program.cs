using IntegrationApi;
using IntegrationApi.Auth;
using IntegrationApi.Hosting;

if (CommandLineInfo.TryHandle(args, Console.Out) is { } answered) return answered;
if (args is ["health", .. var probe]) return await HealthProbe.RunAsync(probe, Console.Out, Console.Error); // container health checks

IConfiguration? settings = null; // what names a Kestrel endpoint in a failure, kept before the host is disposed
var started = false;              // past start-up, a failure is not a start-up failure
try
{
    if (args is ["keys", .. var rest])
    {
        // Key management with the service's own configuration sources (appsettings, environment, command line):
        // `IntegrationApi keys create --org 1 --project 2 --Auth:KeyStorePath=/var/lib/integration-api/keys.db`.
        var (command, configuration) = HostArguments.SplitKeysArguments(rest);
        await using var admin = IntegrationApiApp.Create(configuration, HostPurpose.Command);
        return KeysCommand.Run(admin.Services.GetRequiredService<ApiKeyStore>(), command, Console.Out);
    }

    var app = IntegrationApiApp.Create(args);
    settings = StartupFailure.Snapshot(app.Configuration);
    // Server:InlineIo (ConnectionOptions.InlineIo): the runtime reads this once, when the first socket is made,
    // which is after this line (Kestrel binds in RunAsync); an operator's own value of the variable wins.
    if (app.Configuration.GetValue<bool>("Server:InlineIo") && Environment.GetEnvironmentVariable("DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS") is null)
        Environment.SetEnvironmentVariable("DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS", "1");
    app.Lifetime.ApplicationStarted.Register(() => started = true);
    await app.RunAsync();
    return 0;
}
catch (Exception error)
{
    if (started)
    {
        // Not a misconfiguration: a bug, reported whole.
        Console.Error.WriteLine($"IntegrationApi: stopped after an unexpected error: {error}");
        return 1;
    }
    // One line naming the setting or resource and what to do; exit code 1, no stack trace (Hosting/StartupFailure).
    // A failure no rule recognises is a bug rather than a setting: its stack trace follows the line.
    Console.Error.WriteLine(StartupFailure.Describe(error, settings));
    if (!StartupFailure.IsRecognised(error)) Console.Error.WriteLine(error);
    return 1;
}
