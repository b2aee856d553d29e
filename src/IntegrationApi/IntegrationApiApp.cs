namespace IntegrationApi;

/// <summary>Builds the service; <c>Program</c> runs it and the tests start it on a loopback port.</summary>
public static class IntegrationApiApp
{
    /// <summary>The configured application; <paramref name="configure"/> may add or override settings.</summary>
    public static WebApplication Create(string[] args, Action<WebApplicationBuilder>? configure = null)
    {
        var builder = WebApplication.CreateBuilder(args);
        if (builder.Configuration.GetValue<bool>("Logging:Json")) { builder.Logging.ClearProviders(); builder.Logging.AddJsonConsole(); }
        configure?.Invoke(builder);
        builder.Services.AddIntegrationApi();

        var app = builder.Build();
        // Validate every setting now, before anything is built from it, so a wrong value stops the
        // service with a message naming the setting (not a stack trace from wherever it was first used).
        app.Services.GetRequiredService<Microsoft.Extensions.Options.IStartupValidator>().Validate();
        // Now, not on the first call: the key store's table is created and a short JWT secret is warned about at start
        // (a database that cannot be reached stops the service here, with its error).
        app.Services.GetRequiredService<Auth.ApiKeyStore>().EnsureCreated();
        app.Services.GetRequiredService<Auth.CallerAuthenticator>();
        app.MapIntegrationApi();
        return app;
    }
}
