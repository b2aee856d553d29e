using IntegrationApi.Hosting;
using IntegrationApi.OpenAICompatible;

namespace IntegrationApi;

/// <summary>Builds the service; <c>Program</c> runs it and the tests start it on a loopback port.</summary>
public static class IntegrationApiApp
{
    /// <summary>The configured application; <paramref name="configure"/> may add or override settings.</summary>
    public static WebApplication Create(string[] args, Action<WebApplicationBuilder>? configure = null) =>
        Create(args, HostPurpose.Serve, configure);

    /// <summary>
    /// The application built for <paramref name="purpose"/>: serving, or a command (<c>keys</c>) on the same configuration
    /// (then Production's "some caller must be able to authenticate" is not required: the command is how the first key is made).
    /// </summary>
    public static WebApplication Create(string[] args, HostPurpose purpose, Action<WebApplicationBuilder>? configure = null)
    {
        // appsettings*.json are read from the binary's folder, whatever the working folder (HostArguments).
        var builder = WebApplication.CreateBuilder(HostArguments.BuilderOptions(args));
        if (builder.Configuration.GetValue<bool>("Logging:Json")) { builder.Logging.ClearProviders(); builder.Logging.AddJsonConsole(); }
        var startupLogging = StartupLogging.AddTo(builder);
        configure?.Invoke(builder);
        builder.Services.AddIntegrationApi();

        var app = builder.Build();
        startupLogging.StartedWith(app);
        // Every setting, the key store, and (serving) the audit store's place and caller authentication: a failure
        // stops here with one line naming the setting (Hosting/StartupChecks, Hosting/StartupFailure).
        StartupChecks.Run(app, purpose);
        app.UseOpenAICompatibleFence();   // the callers' HTTP listener serves /v1 only (no /metrics, health or gRPC there)
        app.MapIntegrationApi();
        return app;
    }
}
