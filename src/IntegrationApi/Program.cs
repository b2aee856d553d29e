using IntegrationApi;
using IntegrationApi.Auth;
using IntegrationApi.Hosting;

if (CommandLineInfo.TryHandle(args, Console.Out) is { } answered) return answered;
if (args is ["health", .. var probe]) return await HealthProbe.RunAsync(probe, Console.Out, Console.Error); // container health checks

IConfiguration? settings = null; // what names a Kestrel endpoint in a failure, kept before the host is disposed
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
    await app.RunAsync();
    return 0;
}
catch (Exception error)
{
    // One line naming the setting or resource and what to do; exit code 1, no stack trace (Hosting/StartupFailure).
    Console.Error.WriteLine(StartupFailure.Describe(error, settings));
    return 1;
}
