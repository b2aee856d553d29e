namespace IntegrationApi.Hosting;

/// <summary>
/// Until the service has started, the host's own "Hosting failed to start" error (a multi-line stack trace) is not
/// logged: <c>Program</c> prints the failure as one line instead (<see cref="StartupFailure"/>). Once started, the host
/// logs as usual (e.g. a background service that fails).
/// </summary>
internal sealed class StartupLogging
{
    private const string HostCategory = "Microsoft.Extensions.Hosting.Internal.Host";
    private volatile bool _started;

    public static StartupLogging AddTo(WebApplicationBuilder builder)
    {
        var logging = new StartupLogging();
        // A rule for the host's category alone (a rule without one would replace the configured levels of every category):
        // its debug lines stay off, as under the shipped Logging:LogLevel settings.
        builder.Logging.AddFilter(HostCategory, level => level >= LogLevel.Information && (logging._started || level < LogLevel.Error));
        return logging;
    }

    public void StartedWith(WebApplication app) => app.Lifetime.ApplicationStarted.Register(() => _started = true);
}
